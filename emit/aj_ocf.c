/* aj_ocf.c - placeholder until its stage lands. */
