// The candidate configuration the engineer's shell edits: values checked against the schema as
// they are typed (with "did you mean"), array elements added and removed, the whole validated by
// the daemon's own loader, and the diff that goes into the audit log (never a secret's value).

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "assure/config/candidate.hpp"

using namespace assure;
using namespace assure::config;

namespace {

Candidate example() {
  std::ifstream in(std::string(ASSURE_SOURCE_DIR) + "/tests/data/device-example.toml");
  std::stringstream text;
  text << in.rdbuf();
  auto c = Candidate::from_text(text.str(), "device.toml", ASSURE_SOURCE_DIR "/tests/data");
  if (!c) throw std::runtime_error(c.error().message);
  return std::move(*c);
}

std::string error_of(const Result<void>& r) { return r ? "" : r.error().message; }

}  // namespace

TEST(Candidate, ValuesAreCheckedAsTheyAreTypedWithTheSchemasWords) {
  Candidate c = example();
  ASSERT_TRUE(c.validate().empty()) << to_string(c.validate());
  EXPECT_EQ(error_of(c.set("motion.sensitivity", "7")), "");
  EXPECT_EQ(*c.show("motion.sensitivity"), "7");
  EXPECT_NE(error_of(c.set("motion.sensitivty", "7")).find("did you mean motion.sensitivity?"), std::string::npos);
  EXPECT_NE(error_of(c.set("motion.sensitivity", "seven")).find("motion.sensitivity: 'seven' is not a whole number"),
            std::string::npos);
  EXPECT_NE(error_of(c.set("motion.sensitivity", "11")).find("out of range"), std::string::npos);
  EXPECT_NE(error_of(c.set("log.level", "chatty")).find("is not one of"), std::string::npos);
  EXPECT_NE(error_of(c.set("log.level", "debgu")).find("did you mean debug?"), std::string::npos);
  EXPECT_NE(error_of(c.set("heartbeat.interval", "9999999999999999999999")).find("not a whole number"), std::string::npos);
  EXPECT_EQ(error_of(c.set("mqtt.brokers", "[\"tcp://127.0.0.1:1883\"]")), "");
  EXPECT_EQ(*c.show("mqtt.brokers"), "[ \"tcp://127.0.0.1:1883\" ]");
  EXPECT_TRUE(c.validate().empty()) << to_string(c.validate());
}

TEST(Candidate, TableArrayElementsAreAddedEditedAndRemoved) {
  Candidate c = example();
  EXPECT_NE(error_of(c.set("light[0].hold", "90")).find("no such element (add one first)"), std::string::npos);
  auto index = c.append("light");
  ASSERT_TRUE(index);
  EXPECT_EQ(*index, 0u);
  // An element without its required output is caught by the whole-file check, naming it.
  const auto half = to_string(c.validate());
  EXPECT_NE(half.find("light"), std::string::npos) << half;
  EXPECT_NE(half.find("output"), std::string::npos) << half;
  EXPECT_EQ(error_of(c.set("light[0].output", "light_flood")), "");
  EXPECT_EQ(error_of(c.set("light[0].hold", "90")), "");
  const auto sun = to_string(c.validate());
  EXPECT_NE(sun.find("device.location"), std::string::npos) << "the loader's own rules run too: " << sun;
  EXPECT_EQ(error_of(c.set("light[0].dark", "always")), "");
  EXPECT_NE(error_of(c.set("light[0].hodl", "90")).find("did you mean hold?"), std::string::npos);
  EXPECT_TRUE(c.validate().empty()) << to_string(c.validate());
  const auto changes = c.diff_from(example());
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].key, "light[0].dark");
  EXPECT_EQ(changes[1].key, "light[0].hold");
  EXPECT_EQ(changes[1].before, "");
  EXPECT_EQ(changes[1].after, "90");
  EXPECT_EQ(changes[2].key, "light[0].output");
  EXPECT_EQ(error_of(c.erase("light[0]")), "");
  EXPECT_TRUE(c.diff_from(example()).empty());
  EXPECT_FALSE(c.append("lights")) << "not an array";
  EXPECT_NE(c.append("lights").error().message.find("did you mean light?"), std::string::npos);
}

TEST(Candidate, AnErasedKeyShowsItsDefaultAndSecretsAreNeverShown) {
  Candidate c = example();
  ASSERT_EQ(error_of(c.erase("mqtt.keepalive")), "");
  EXPECT_NE(c.show("mqtt.keepalive")->find("(default)"), std::string::npos) << *c.show("mqtt.keepalive");
  EXPECT_FALSE(c.erase("mqtt.keepalive")) << "not set any more";
  ASSERT_EQ(error_of(c.set("mqtt.password", "hunter2")), "");
  EXPECT_EQ(*c.show("mqtt.password"), "(secret, set)");
  for (const auto& change : c.diff_from(example())) {
    EXPECT_EQ(change.before.find("hunter2"), std::string::npos);
    EXPECT_EQ(change.after.find("hunter2"), std::string::npos);
    if (change.key == "mqtt.password") {
      EXPECT_TRUE(change.secret);
    }
  }
}

TEST(Candidate, HostileKeysAndValuesAreRefusedNamingThem) {
  Candidate c = example();
  for (const char* key : {"", "../etc/passwd", "motion..sensitivity", "light[99999].hold", "light[x].hold",
                          "light[0", "motion.sensitivity[0]", "alarm.zone[0].x[1]"}) {
    EXPECT_FALSE(c.set(key, "1")) << key;
  }
  for (const char* number : {"nan", "NaN", "inf", "-inf", "1e999", "", "0x10"}) {
    EXPECT_FALSE(c.set("motion.min_area", number)) << number;
  }
  EXPECT_FALSE(c.set("device.site", std::string(10000, 'a')));
  EXPECT_FALSE(c.set("mqtt.brokers", "[1, 2]"));
  EXPECT_FALSE(c.set("mqtt.brokers", "[\"a\""));
  EXPECT_FALSE(Candidate::from_text("[[[[", "bad.toml", "."));
  EXPECT_FALSE(Candidate::from_text(std::string(100000, '['), "deep.toml", "."));
  EXPECT_TRUE(c.validate().empty()) << "nothing refused was kept";
}
