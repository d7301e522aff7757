#pragma once
// Certificates for TLS tests, made with the openssl command: a CA, a broker certificate for
// 127.0.0.1 and a client certificate; and a folder the broker (mosquitto drops to its own user)
// may read.

#include <cstdlib>
#include <filesystem>
#include <string>

namespace assure::test {

inline void let_the_broker_read(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  fs::permissions(dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                           fs::perms::others_exec);
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    fs::permissions(entry.path(), entry.is_directory() ? fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                                             fs::perms::others_read | fs::perms::others_exec
                                                       : fs::perms::owner_read | fs::perms::owner_write |
                                                             fs::perms::group_read | fs::perms::others_read);
  }
}

// A CA, a broker certificate for 127.0.0.1 and a device certificate, made with openssl.
struct Pki {
  explicit Pki(const std::filesystem::path& parent, const std::string& name) : dir(parent / name) {
    std::filesystem::create_directories(dir);
    const std::string d = dir.string();
    const std::string script =
        "cd " + d + " && "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 2 -subj /CN=" + name + "-ca && "
        "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1 && "
        "printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext && "
        "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile san.ext && "
        "openssl req -newkey rsa:2048 -nodes -keyout device.key -out device.csr -subj /CN=pole-7 && "
        "openssl x509 -req -in device.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out device.crt -days 2";
    ok = std::system(("(" + script + ") >" + d + "/openssl.log 2>&1").c_str()) == 0;
  }
  std::filesystem::path file(const std::string& name) const { return dir / name; }
  std::filesystem::path dir;
  bool ok = false;
};

}  // namespace assure::test
