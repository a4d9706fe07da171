* vscale cell nor2: Y = !(A | B). Series pmos widened 2x (stack of 2); A is nearest the output.
.subckt nor2 A B Y vdd vss
mpb x B vdd vdd pmos w=256n l=32n
mpa Y A x vdd pmos w=256n l=32n
mna Y A vss vss nmos w=64n l=32n
mnb Y B vss vss nmos w=64n l=32n
.ends nor2
