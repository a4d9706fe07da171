* vscale cell or2: Y = A | B. nor2 (stack-sized) followed by a unit inverter.
.subckt or2 A B Y vdd vss
mpb x B vdd vdd pmos w=256n l=32n
mpa yb A x vdd pmos w=256n l=32n
mna yb A vss vss nmos w=64n l=32n
mnb yb B vss vss nmos w=64n l=32n
mp Y yb vdd vdd pmos w=128n l=32n
mn Y yb vss vss nmos w=64n l=32n
.ends or2
