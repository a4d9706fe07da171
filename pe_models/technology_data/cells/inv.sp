* vscale cell inv: Y = !A. Unit inverter (W_n = 64 nm, W_p = 128 nm, L = 32 nm).
.subckt inv A Y vdd vss
mp Y A vdd vdd pmos w=128n l=32n
mn Y A vss vss nmos w=64n l=32n
.ends inv
