/* aj_classify.c - placeholder until its stage lands. */
