# Warnings for every target; -Werror when AJ_WERROR is on (CI).
set(AJ_WARNINGS -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wno-unused-parameter -Wformat=2 -Wvla
    # snprintf into bounded buffers truncates by design; every such buffer is sized for its use.
    -Wno-format-truncation)
if(AJ_WERROR)
  list(APPEND AJ_WARNINGS -Werror)
endif()
