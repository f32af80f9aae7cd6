/* aj_util.c - placeholder until its stage lands. */
