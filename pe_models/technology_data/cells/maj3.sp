* vscale cell maj3: Y = A.B + A.C + B.C. The mirror carry circuit of the 28-transistor
* mirror full adder (inverting, every path a stack of 2, widened 2x) and a unit inverter.
.subckt maj3 A B C Y vdd vss
mp1 x1 A vdd vdd pmos w=256n l=32n
mp2 x1 B vdd vdd pmos w=256n l=32n
mp3 cob C x1 vdd pmos w=256n l=32n
mp4 x2 A vdd vdd pmos w=256n l=32n
mp5 cob B x2 vdd pmos w=256n l=32n
mn1 cob C y1 vss nmos w=128n l=32n
mn2 y1 A vss vss nmos w=128n l=32n
mn3 y1 B vss vss nmos w=128n l=32n
mn4 cob A y2 vss nmos w=128n l=32n
mn5 y2 B vss vss nmos w=128n l=32n
mp Y cob vdd vdd pmos w=128n l=32n
mn Y cob vss vss nmos w=64n l=32n
.ends maj3
