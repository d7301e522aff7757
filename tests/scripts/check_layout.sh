#!/usr/bin/env bash
# The dependency direction, checked in the code and in the targets:
#   hal (+ base) <- drivers, pipelines, config <- firmware <- tools.
# hal's interfaces make no Linux calls (base, its one compiled piece, only POSIX file calls);
# pipelines knows nothing of MQTT; nothing below firmware includes it.
set -u
root="$1"
cd "$root" || exit 2
failures=0
check() {  # check "what" command...; the command prints offending lines
  local what="$1"; shift
  local found
  found="$("$@" 2>/dev/null)"
  if [ -n "$found" ]; then
    echo "FAIL: $what"; echo "$found" | sed 's/^/    /'
    failures=$((failures + 1))
  else
    echo "ok:   $what"
  fi
}

check "hal's interfaces include no system or third-party header (no Linux calls)" \
  grep -rnE '#include <(unistd|fcntl|poll|pthread|signal|sys/|linux/|gpiod|gst/|mqtt/|opencv|spdlog|fmt/|toml|nlohmann)' hal/include
check "hal/base (durable files) includes only the standard library, POSIX file calls and fmt" \
  bash -c "grep -rnE '#include <' hal/base | grep -vE '#include <(fcntl\.h|unistd\.h|sys/stat\.h|fmt/format\.h|[a-z_]+)>'"
check "hal includes nothing of the layers above it" \
  grep -rnE '#include "assure/(drivers|pipelines|config|firmware)/' hal
check "drivers include neither pipelines, config nor firmware" \
  grep -rnE '#include "(assure/(pipelines|config|firmware)/|uplink/|app/)' drivers
check "pipelines include neither drivers, config, firmware nor MQTT" \
  grep -rnE '#include ("assure/(drivers|config|firmware)/|"uplink/|"app/|<mqtt/|<MQTT)|mqtt::|MQTTAsync' pipelines
check "config includes neither drivers, pipelines nor firmware" \
  grep -rnE '#include "(assure/(drivers|pipelines|firmware)/|uplink/|app/)' config
check "the uplink and the evidence code use no video library (durable files are base's)" \
  grep -rnE '#include "assure/pipelines/' firmware/uplink firmware/evidence
check "tools and tests use firmware/ only through its public headers (include/assure/firmware/)" \
  grep -rnE '#include "(app|alarm|uplink|evidence)/' tools tests
check "firmware's public headers include none of its private ones" \
  grep -rnE '#include "(app|alarm|uplink|evidence)/' firmware/include
check "inside firmware/, alarm/ (pure logic) uses neither the uplink, the app nor any I/O" \
  grep -rnE '#include ("assure/firmware/(uplink|evidence|daemon|settings|uplink_service|dispatcher|device_commands)|"assure/(drivers|pipelines|config)/|<(spdlog|mqtt|unistd|fcntl|sys/|thread|mutex|fstream))' firmware/alarm firmware/include/assure/firmware/alarm
check "inside firmware/, the uplink and the evidence code know nothing of the app" \
  grep -rnE '#include "(app/|assure/firmware/(daemon|settings|uplink_service|dispatcher|device_commands|schedule)\.hpp)' firmware/uplink firmware/evidence firmware/include/assure/firmware/uplink firmware/include/assure/firmware/evidence
check "inside firmware/, the shell's side knows nothing of the daemon that wires it" \
  grep -rnE '#include "(app/|assure/firmware/(daemon|settings|uplink_service|dispatcher|device_commands|schedule)\.hpp)' firmware/shell firmware/include/assure/firmware/shell
check "no library below tools includes a tool" \
  grep -rnE '#include "(format\.hpp|receiver/)' hal drivers pipelines config firmware

# The targets: each library links only the project libraries below it.
links_of() {  # the assure_* names in target_link_libraries(<target> ...) of a CMakeLists.txt
  awk -v t="$2" '$0 ~ "target_link_libraries\\(" t "[ \\n]" {grab=1} grab {print} grab && /\)/ {grab=0}' "$1" |
    grep -oE 'assure_[a-z_]+' | grep -vx "$2" | sort -u | tr '\n' ' '
}
expect_links() {  # file target allowed...
  local file="$1" target="$2"; shift 2
  local link bad=""
  for link in $(links_of "$file" "$target"); do
    case " $* " in *" $link "*) ;; *) bad="$bad $link" ;; esac
  done
  check "target $target links only: ${*:-nothing of ours}" echo -n "${bad:+$target links$bad}"
}
expect_links hal/CMakeLists.txt assure_hal
expect_links hal/CMakeLists.txt assure_base assure_hal
expect_links drivers/CMakeLists.txt assure_drivers assure_hal
expect_links pipelines/CMakeLists.txt assure_pipelines assure_hal assure_base
expect_links config/CMakeLists.txt assure_config assure_hal
expect_links firmware/CMakeLists.txt assure_firmware assure_hal assure_base assure_drivers assure_pipelines assure_config

for dir in CMakeLists.txt firmware hal drivers pipelines config board tests tools README.md; do
  check "top level has $dir" bash -c "[ -e '$dir' ] || echo missing"
done

if [ "$failures" -gt 0 ]; then echo "$failures layout check(s) failed"; exit 1; fi
echo "layout: all checks passed"
