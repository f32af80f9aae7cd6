/* aj_cmd_rate.c - placeholder until its stage lands. */
