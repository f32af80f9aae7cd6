/* aj_store.c - placeholder until its stage lands. */
