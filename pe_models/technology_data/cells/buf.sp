* vscale cell buf: Y = A. Two unit inverters.
.subckt buf A Y vdd vss
mp1 an A vdd vdd pmos w=128n l=32n
mn1 an A vss vss nmos w=64n l=32n
mp2 Y an vdd vdd pmos w=128n l=32n
mn2 Y an vss vss nmos w=64n l=32n
.ends buf
