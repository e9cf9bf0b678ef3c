# kura_migrations(TARGET name SCHEMA schema FUNCTION Name DIR dir)
#
# Embeds every NNNN_name.sql file in DIR into a static library exposing
#   const std::vector<kura::pg::MigrationFile>& Name();
# in namespace kura::migrations, so a service binary carries its own schema and needs no files at
# run time. Re-run CMake (the build does it) when a file is added.
function(kura_migrations)
  cmake_parse_arguments(M "" "TARGET;SCHEMA;FUNCTION;DIR" "" ${ARGN})
  file(GLOB sql_files CONFIGURE_DEPENDS ${M_DIR}/*.sql)
  list(SORT sql_files)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${M_TARGET}_embedded.cc)
  add_custom_command(
    OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${out} -DSCHEMA=${M_SCHEMA} -DFUNCTION=${M_FUNCTION} "-DFILES=${sql_files}"
            -P ${KURA_MIGRATIONS_SCRIPT}
    DEPENDS ${sql_files} ${KURA_MIGRATIONS_SCRIPT}
    COMMENT "embed ${M_SCHEMA} migrations"
    VERBATIM)
  add_library(${M_TARGET} STATIC ${out})
  target_link_libraries(${M_TARGET} PUBLIC kura::pg)
  kura_add_common_options(${M_TARGET})
endfunction()
set(KURA_MIGRATIONS_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/EmbedMigrations.cmake)
