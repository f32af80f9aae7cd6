# Writes OUT: a C file with the SQL of schemas/sql (SQL_DIR): roles.sql, bootstrap.sql and the
# migrations NNNN_name.sql in version order (emit/aj_pg.h). Refuses, naming the file, a migration
# whose name is not NNNN_name.sql, versions that are not 1, 2, 3... without gaps, a migration that
# manages its own transaction (migrate runs each in one), and any byte that is not ASCII (the
# checksum recorded in the database must not depend on the client encoding).

function(aj_sql_read path var)
  get_filename_component(fname ${path} NAME)
  file(READ ${path} text)
  if(text STREQUAL "")
    message(FATAL_ERROR "schemas/sql/${fname} is empty")
  endif()
  if(text MATCHES "[^\t\n\r -~]")
    message(FATAL_ERROR "schemas/sql/${fname}: only printable ASCII, tabs and newlines (the checksum "
                        "recorded by ajuste audit migrate must not depend on the client encoding)")
  endif()
  file(READ ${path} hex HEX)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" escaped "${hex}")
  set(${var} "${escaped}" PARENT_SCOPE)
  set(${var}_TEXT "${text}" PARENT_SCOPE)
endfunction()

file(GLOB files ${SQL_DIR}/*.sql)
list(SORT files)
set(body "/* Generated from schemas/sql by cmake/embed_sql.cmake. Do not edit. */\n")
string(APPEND body "#include \"aj_pg.h\"\n\n")
foreach(special roles bootstrap)
  if(NOT EXISTS ${SQL_DIR}/${special}.sql)
    message(FATAL_ERROR "schemas/sql/${special}.sql is missing")
  endif()
  aj_sql_read(${SQL_DIR}/${special}.sql sql)
  string(APPEND body "const char aj_pg_${special}_sql[] = \"${sql}\";\n")
endforeach()

string(APPEND body "\nconst aj_pg_migration aj_pg_migrations[] = {\n")
set(expect 1)
foreach(f ${files})
  get_filename_component(fname ${f} NAME)
  if(fname STREQUAL "roles.sql" OR fname STREQUAL "bootstrap.sql")
    continue()
  endif()
  if(NOT fname MATCHES "^([0-9][0-9][0-9][0-9])_([a-z0-9_]+)\\.sql$")
    message(FATAL_ERROR "schemas/sql/${fname}: a migration is named NNNN_name.sql (4 digits, then lowercase "
                        "letters, digits and underscores)")
  endif()
  string(REGEX REPLACE "^0+" "" version "${CMAKE_MATCH_1}")
  if(NOT version STREQUAL expect)
    message(FATAL_ERROR "schemas/sql/${fname}: version '${CMAKE_MATCH_1}', expected ${expect}: migrations are "
                        "numbered 1, 2, 3... without gaps or repeats")
  endif()
  aj_sql_read(${f} sql)
  # BEGIN; cannot occur in a PL/pgSQL body (its BEGIN takes no semicolon), so these lines are
  # transaction control at the top level.
  set(ci_begin "[Bb][Ee][Gg][Ii][Nn]|[Ss][Tt][Aa][Rr][Tt][ \t]+[Tt][Rr][Aa][Nn][Ss][Aa][Cc][Tt][Ii][Oo][Nn]")
  set(ci_end "[Cc][Oo][Mm][Mm][Ii][Tt]|[Rr][Oo][Ll][Ll][Bb][Aa][Cc][Kk]")
  if(sql_TEXT MATCHES "(^|\n)[ \t]*(${ci_begin}|${ci_end})[ \t]*;")
    message(FATAL_ERROR "schemas/sql/${fname}: '${CMAKE_MATCH_2}' at the start of a line: a migration must not "
                        "manage its transaction (ajuste audit migrate runs each in one)")
  endif()
  get_filename_component(name ${f} NAME_WE)
  string(APPEND body "    {${version}, \"${name}\", \"${sql}\"},\n")
  math(EXPR expect "${expect} + 1")
endforeach()
if(expect EQUAL 1)
  message(FATAL_ERROR "schemas/sql holds no migration (NNNN_name.sql)")
endif()
string(APPEND body "    {0, 0, 0}\n};\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
