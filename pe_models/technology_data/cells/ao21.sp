* vscale cell ao21: Y = (A & B) | C. AOI21 (stacked transistors widened by their stack
* depth) followed by a unit inverter.
.subckt ao21 A B C Y vdd vss
mpa x A vdd vdd pmos w=256n l=32n
mpb x B vdd vdd pmos w=256n l=32n
mpc yb C x vdd pmos w=256n l=32n
mna yb A y1 vss nmos w=128n l=32n
mnb y1 B vss vss nmos w=128n l=32n
mnc yb C vss vss nmos w=64n l=32n
mp Y yb vdd vdd pmos w=128n l=32n
mn Y yb vss vss nmos w=64n l=32n
.ends ao21
