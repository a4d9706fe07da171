* vscale cell xor3: Y = A ^ B ^ C. The mirror full adder's sum circuit with its own
* mirror carry node cob: sb = !(A.B.C + (A + B + C).cob), Y = !sb. Stacks of 2 widened
* 2x, the series A-B-C stack 3x; unit output inverter.
.subckt xor3 A B C Y vdd vss
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
mp6 x3 A vdd vdd pmos w=256n l=32n
mp7 x3 B vdd vdd pmos w=256n l=32n
mp8 x3 C vdd vdd pmos w=256n l=32n
mp9 sb cob x3 vdd pmos w=256n l=32n
mp10 x4 A vdd vdd pmos w=384n l=32n
mp11 x5 B x4 vdd pmos w=384n l=32n
mp12 sb C x5 vdd pmos w=384n l=32n
mn6 sb cob y3 vss nmos w=128n l=32n
mn7 y3 A vss vss nmos w=128n l=32n
mn8 y3 B vss vss nmos w=128n l=32n
mn9 y3 C vss vss nmos w=128n l=32n
mn10 sb C y4 vss nmos w=192n l=32n
mn11 y4 B y5 vss nmos w=192n l=32n
mn12 y5 A vss vss nmos w=192n l=32n
mp Y sb vdd vdd pmos w=128n l=32n
mn Y sb vss vss nmos w=64n l=32n
.ends xor3
