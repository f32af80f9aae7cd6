/* aj_adjust.c - placeholder until its stage lands. */
