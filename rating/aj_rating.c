/* aj_rating.c - placeholder until its stage lands. */
