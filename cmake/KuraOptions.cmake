# kura_add_common_options(target): C++20, warnings, optional -Werror and sanitizers.
function(kura_add_common_options target)
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow=local
                                           -Wnon-virtual-dtor -Wno-unused-parameter
                                           -Wno-missing-field-initializers)
  if(KURA_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(KURA_ASAN)
    # GCC 12 reports false maybe-uninitialized warnings in libstdc++ (std::regex,
    # std::function) once the sanitizers' instrumentation is in.
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
  endif()
endfunction()

if(KURA_ASAN)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(KURA_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()

# kura_test(name LABEL unit|db|e2e SOURCES a.cc ... LIBS lib ...)
# A Catch2 test binary registered as one ctest entry carrying LABEL. Database and end-to-end
# tests read KURA_TEST_PG_DSN (set by scripts/test) and fail, never skip, without it.
function(kura_test name)
  cmake_parse_arguments(T "" "LABEL;TIMEOUT" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE kura_catch_main ${T_LIBS})
  kura_add_common_options(${name})
  kura_register_test(${name} ${name} LABEL ${T_LABEL} TIMEOUT ${T_TIMEOUT})
endfunction()

# kura_register_test(test_name binary LABEL l [TIMEOUT s] [ENV VAR=VALUE ...])
# One ctest entry running `binary`; a binary may be registered again with other settings.
function(kura_register_test name binary)
  cmake_parse_arguments(T "" "LABEL;TIMEOUT" "ENV" ${ARGN})
  add_test(NAME ${name} COMMAND ${binary} --reporter compact)
  if(T_ENV)
    set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT ${T_ENV})
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS ${T_LABEL} TIMEOUT ${T_TIMEOUT})
  if(KURA_ASAN)
    set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT
      "LSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/cmake/lsan.supp")
  endif()
  if(KURA_TSAN)
    # Inherited by the service processes the e2e tests start.
    set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT
      "TSAN_OPTIONS=suppressions=${PROJECT_SOURCE_DIR}/cmake/tsan.supp second_deadlock_stack=1")
  endif()
endfunction()

function(kura_unit_test name)
  cmake_parse_arguments(T "" "" "LIBS" ${ARGN})
  kura_test(${name} LABEL unit SOURCES ${T_UNPARSED_ARGUMENTS} LIBS ${T_LIBS})
endfunction()
