/* aj_gen.c - placeholder until its stage lands. */
