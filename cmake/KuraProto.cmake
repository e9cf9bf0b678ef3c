# kura_proto_library(NAME name PROTOS a.proto ... [DEPS target ...] [GRPC] [ROOT dir])
#
# Compiles .proto files (paths relative to ROOT, by default ${KURA_PROTO_ROOT}) into one static
# library. With GRPC,
# the gRPC C++ stubs are generated too. Generated headers are included as "kura/x/v1/foo.pb.h".
set(KURA_PROTO_ROOT ${CMAKE_SOURCE_DIR}/proto)
set(KURA_PROTO_OUT ${CMAKE_BINARY_DIR}/proto_gen)
file(MAKE_DIRECTORY ${KURA_PROTO_OUT})

function(kura_proto_library)
  cmake_parse_arguments(P "GRPC" "NAME;ROOT" "PROTOS;DEPS" ${ARGN})
  if(NOT P_ROOT)
    set(P_ROOT ${KURA_PROTO_ROOT})
  endif()
  set(srcs)
  foreach(proto ${P_PROTOS})
    get_filename_component(dir ${proto} DIRECTORY)
    get_filename_component(stem ${proto} NAME_WE)
    set(base ${KURA_PROTO_OUT}/${dir}/${stem})
    set(outs ${base}.pb.cc ${base}.pb.h)
    set(plugin_args)
    if(P_GRPC)
      list(APPEND outs ${base}.grpc.pb.cc ${base}.grpc.pb.h)
      set(plugin_args --grpc_out=${KURA_PROTO_OUT}
                      --plugin=protoc-gen-grpc=$<TARGET_FILE:gRPC::grpc_cpp_plugin>)
    endif()
    add_custom_command(
      OUTPUT ${outs}
      COMMAND protobuf::protoc
      ARGS --proto_path=${P_ROOT} --proto_path=${KURA_PROTO_ROOT} --cpp_out=${KURA_PROTO_OUT}
           ${plugin_args} ${P_ROOT}/${proto}
      DEPENDS ${P_ROOT}/${proto} protobuf::protoc
      COMMENT "protoc ${proto}"
      VERBATIM)
    list(APPEND srcs ${base}.pb.cc)
    if(P_GRPC)
      list(APPEND srcs ${base}.grpc.pb.cc)
    endif()
  endforeach()
  add_library(${P_NAME} STATIC ${srcs})
  target_include_directories(${P_NAME} SYSTEM PUBLIC ${KURA_PROTO_OUT})
  target_link_libraries(${P_NAME} PUBLIC protobuf::libprotobuf ${P_DEPS})
  if(P_GRPC)
    target_link_libraries(${P_NAME} PUBLIC gRPC::grpc++)
  endif()
  set_target_properties(${P_NAME} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()
