# Script mode: writes OUT, a C++ file that returns the SQL FILES of SCHEMA as MigrationFiles.
set(body "")
foreach(f ${FILES})
  get_filename_component(name ${f} NAME)
  file(READ ${f} sql)
  string(APPEND body "      {\"${name}\", R\"kura_sql(${sql})kura_sql\"},\n")
endforeach()
file(WRITE ${OUT}.tmp "// Generated from the ${SCHEMA} migrations. Do not edit.
#include <vector>

#include \"kura/pg/migrations.h\"

namespace kura::migrations {

const std::vector<kura::pg::MigrationFile>& ${FUNCTION}() {
  static const std::vector<kura::pg::MigrationFile> files = {
${body}  };
  return files;
}

}  // namespace kura::migrations
")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
