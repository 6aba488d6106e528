# bench-smoke: runs coex-bench --quick and checks that the JSON it wrote has the figures.
execute_process(COMMAND ${BENCH} --quick --json ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "coex-bench --quick exited with ${rc}")
endif()
file(READ ${OUT} json)
foreach(key proposals_per_s crypto_floor_per_s zmq_curve_per_s latency_p50_ms latency_p99_ms
    latency_p999_ms sender_cpu_us_per_proposal receiver_cpu_us_per_proposal
    sqlite_group_rows_per_s ed25519_sign_per_s ed25519_verify_per_s)
  if(NOT json MATCHES "\"${key}\": ")
    message(FATAL_ERROR "${OUT} has no key ${key}:\n${json}")
  endif()
endforeach()
# Every throughput and latency figure is a number (only a missing peer may be null).
foreach(key proposals_per_s crypto_floor_per_s latency_p50_ms latency_p99_ms)
  if(NOT json MATCHES "\"${key}\": [0-9]")
    message(FATAL_ERROR "${key} is not a number in ${OUT}:\n${json}")
  endif()
endforeach()
file(REMOVE ${OUT})
message(STATUS "bench-smoke: all keys present")
