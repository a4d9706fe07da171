* vscale cell razor_dff: Razor flip-flop (Ernst et al., MICRO 2003), ports D CK R Q E vdd vss.
* Main flop: the library's dff (transistor for transistor, its input fed by the restore
* multiplexer). Shadow latch: transmission-gate latch on D, open while CK = 1 and closed at
* the falling clock edge (the delayed clock is the inverted clock: the speculation window
* is the high phase, as in Das et al., JSSC 2006), clocked-inverter keeper of unit devices,
* unit output inverter (SQ = D). Comparator: the library's xor2, E = Q ^ SQ. Restore
* multiplexer: 3 NAND2 + INV, main flop input = R ? SQ : D. No metastability detector.
* One local clock inverter (ckb) serves main flop and shadow latch. Sizing: the library's.
.subckt razor_dff D CK R Q E vdd vss
mpck ckb CK vdd vdd pmos w=128n l=32n
mnck ckb CK vss vss nmos w=64n l=32n
mpr rb R vdd vdd pmos w=128n l=32n
mnr rb R vss vss nmos w=64n l=32n
mpna na D vdd vdd pmos w=128n l=32n
mpnb na rb vdd vdd pmos w=128n l=32n
mnna na D xa vss nmos w=128n l=32n
mnnb xa rb vss vss nmos w=128n l=32n
mpsa nb sq vdd vdd pmos w=128n l=32n
mpsb nb R vdd vdd pmos w=128n l=32n
mnsa nb sq xb vss nmos w=128n l=32n
mnsb xb R vss vss nmos w=128n l=32n
mpma dm na vdd vdd pmos w=128n l=32n
mpmb dm nb vdd vdd pmos w=128n l=32n
mnma dm na xm vss nmos w=128n l=32n
mnmb xm nb vss vss nmos w=128n l=32n
mpd dn dm vdd vdd pmos w=128n l=32n
mnd dn dm vss vss nmos w=64n l=32n
mptm dn CK m vdd pmos w=128n l=32n
mntm dn ckb m vss nmos w=64n l=32n
mpm mb m vdd vdd pmos w=128n l=32n
mnm mb m vss vss nmos w=64n l=32n
mpkm1 km1 mb vdd vdd pmos w=128n l=32n
mpkm2 m ckb km1 vdd pmos w=128n l=32n
mnkm2 m CK km2 vss nmos w=64n l=32n
mnkm1 km2 mb vss vss nmos w=64n l=32n
mpts mb ckb s vdd pmos w=128n l=32n
mnts mb CK s vss nmos w=64n l=32n
mps sb s vdd vdd pmos w=128n l=32n
mns sb s vss vss nmos w=64n l=32n
mpks1 ks1 sb vdd vdd pmos w=128n l=32n
mpks2 s CK ks1 vdd pmos w=128n l=32n
mnks2 s ckb ks2 vss nmos w=64n l=32n
mnks1 ks2 sb vss vss nmos w=64n l=32n
mpq Q sb vdd vdd pmos w=128n l=32n
mnq Q sb vss vss nmos w=64n l=32n
mptl D ckb sl vdd pmos w=128n l=32n
mntl D CK sl vss nmos w=64n l=32n
mpl slb sl vdd vdd pmos w=128n l=32n
mnl slb sl vss vss nmos w=64n l=32n
mpkl1 kl1 slb vdd vdd pmos w=128n l=32n
mpkl2 sl CK kl1 vdd pmos w=128n l=32n
mnkl2 sl ckb kl2 vss nmos w=64n l=32n
mnkl1 kl2 slb vss vss nmos w=64n l=32n
mpsq sq slb vdd vdd pmos w=128n l=32n
mnsq sq slb vss vss nmos w=64n l=32n
mpiq qn Q vdd vdd pmos w=128n l=32n
mniq qn Q vss vss nmos w=64n l=32n
mpis sqn sq vdd vdd pmos w=128n l=32n
mnis sqn sq vss vss nmos w=64n l=32n
mpa x Q vdd vdd pmos w=256n l=32n
mpb x sq vdd vdd pmos w=256n l=32n
mpan E qn x vdd pmos w=256n l=32n
mpbn E sqn x vdd pmos w=256n l=32n
mna E Q y1 vss nmos w=128n l=32n
mnb y1 sq vss vss nmos w=128n l=32n
mnan E qn y2 vss nmos w=128n l=32n
mnbn y2 sqn vss vss nmos w=128n l=32n
.ends razor_dff
