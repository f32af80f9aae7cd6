/* aj_cmd_gen.c - placeholder until its stage lands. */
