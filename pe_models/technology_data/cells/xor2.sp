* vscale cell xor2: Y = A ^ B. Unit input inverters and an AOI22, Y = !(A.B + !A.!B);
* every transistor of the AOI22 is in a stack of 2 (widened 2x).
.subckt xor2 A B Y vdd vss
mpia an A vdd vdd pmos w=128n l=32n
mnia an A vss vss nmos w=64n l=32n
mpib bn B vdd vdd pmos w=128n l=32n
mnib bn B vss vss nmos w=64n l=32n
mpa x A vdd vdd pmos w=256n l=32n
mpb x B vdd vdd pmos w=256n l=32n
mpan Y an x vdd pmos w=256n l=32n
mpbn Y bn x vdd pmos w=256n l=32n
mna Y A y1 vss nmos w=128n l=32n
mnb y1 B vss vss nmos w=128n l=32n
mnan Y an y2 vss nmos w=128n l=32n
mnbn y2 bn vss vss nmos w=128n l=32n
.ends xor2
