* vscale cell dff: positive-edge D flip-flop, static transmission-gate master-slave.
* Local clock inverter (ckb); input inverter; master TG (on while CK = 0), slave TG (on
* while CK = 1); clocked-inverter keepers of unit devices (weak on purpose); unit output
* inverter isolates the slave's storage node from the load. Q = D at the rising CK edge.
.subckt dff D CK Q vdd vss
mpck ckb CK vdd vdd pmos w=128n l=32n
mnck ckb CK vss vss nmos w=64n l=32n
mpd dn D vdd vdd pmos w=128n l=32n
mnd dn D vss vss nmos w=64n l=32n
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
.ends dff
