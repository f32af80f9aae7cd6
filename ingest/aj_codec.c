/* aj_codec.c - placeholder until its stage lands. */
