* vscale cell and2: Y = A & B. nand2 (stack-sized) followed by a unit inverter.
.subckt and2 A B Y vdd vss
mpa yb A vdd vdd pmos w=128n l=32n
mpb yb B vdd vdd pmos w=128n l=32n
mna yb A x vss nmos w=128n l=32n
mnb x B vss vss nmos w=128n l=32n
mp Y yb vdd vdd pmos w=128n l=32n
mn Y yb vss vss nmos w=64n l=32n
.ends and2
