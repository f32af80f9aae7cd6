# Warnings for every target; -Werror when AJ_WERROR is on (CI).
set(AJ_WARNINGS -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wno-unused-parameter -Wformat=2 -Wvla)
if(AJ_WERROR)
  list(APPEND AJ_WARNINGS -Werror)
endif()
