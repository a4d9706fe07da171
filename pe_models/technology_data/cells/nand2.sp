* vscale cell nand2: Y = !(A & B). Series nmos widened 2x (stack of 2); A is nearest the output.
.subckt nand2 A B Y vdd vss
mpa Y A vdd vdd pmos w=128n l=32n
mpb Y B vdd vdd pmos w=128n l=32n
mna Y A x vss nmos w=128n l=32n
mnb x B vss vss nmos w=128n l=32n
.ends nand2
