/* aj_out_codec.c - placeholder until its stage lands. */
