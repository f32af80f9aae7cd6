/* aj_emitter.c - placeholder until its stage lands. */
