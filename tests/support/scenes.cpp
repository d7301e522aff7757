#include "scenes.hpp"

#include <cmath>
#include <opencv2/imgproc.hpp>
#include <random>
#include <stdexcept>

#include "scene_parts.hpp"

namespace assure::test {
namespace parts {

const cv::Size kSize(320, 240);

// A textured street scene: smooth variation, a few buildings and a path.
cv::Mat background(unsigned seed, double brightness) {
  cv::RNG rng(seed);
  cv::Mat coarse(12, 16, CV_32F);
  rng.fill(coarse, cv::RNG::UNIFORM, -25, 25);
  cv::Mat scene;
  cv::resize(coarse, scene, kSize, 0, 0, cv::INTER_CUBIC);
  scene += brightness;
  cv::rectangle(scene, {20, 20, 80, 90}, cv::Scalar(brightness + 40), cv::FILLED);
  cv::rectangle(scene, {210, 30, 90, 70}, cv::Scalar(brightness - 35), cv::FILLED);
  cv::rectangle(scene, {0, 150, 320, 40}, cv::Scalar(brightness - 15), cv::FILLED);
  for (int i = 0; i < 12; ++i) cv::line(scene, {25 + i * 6, 25}, {25 + i * 6, 105}, cv::Scalar(brightness + 10), 1);
  cv::Mat out;
  scene.convertTo(out, CV_8U);
  return out;
}

// A person: a body and a head, darker or lighter than the scene by `contrast`.
void draw_person(cv::Mat& frame, double x, double y_feet, double contrast) {
  const int cx = static_cast<int>(std::lround(x));
  const int feet = static_cast<int>(std::lround(y_feet));
  cv::Mat body = frame(cv::Rect(0, 0, frame.cols, frame.rows));
  const cv::Rect torso(cx - 6, feet - 36, 12, 36);
  cv::Mat roi = body(torso & cv::Rect({}, frame.size()));
  roi += cv::Scalar(contrast > 0 ? contrast : 0);
  roi -= cv::Scalar(contrast < 0 ? -contrast : 0);
  cv::circle(frame, {cx, feet - 42}, 5, cv::Scalar(contrast > 0 ? 230 : 30), cv::FILLED);
}

void add_noise(cv::Mat& frame, double sigma) {
  cv::Mat noise(frame.size(), CV_16S);
  cv::randn(noise, 0, sigma);  // from cv::theRNG(): seed it per frame (cv::setRNGSeed) for a repeatable scene
  cv::Mat wide;
  frame.convertTo(wide, CV_16S);
  wide += noise;
  wide.convertTo(frame, CV_8U);
}

cv::Mat walker(const cv::Mat& base, int f, int enter, int leave, double contrast) {
  cv::Mat frame = base.clone();
  if (f >= enter && f <= leave) {
    const double x = 10 + 300.0 * (f - enter) / std::max(1, leave - enter);
    draw_person(frame, x, 185, contrast);
  }
  return frame;
}

cv::Mat shaken(const cv::Mat& frame, int f) {
  std::mt19937 rng(300 + f);
  std::uniform_int_distribution<int> d(-1, 1);
  const cv::Mat shift = (cv::Mat_<double>(2, 3) << 1, 0, d(rng), 0, 1, d(rng));
  cv::Mat out;
  cv::warpAffine(frame, out, shift, frame.size(), cv::INTER_NEAREST, cv::BORDER_REPLICATE);
  return out;
}

cv::Mat rain(cv::Mat frame, int f, int drops) {
  std::mt19937 rng(7000 + f);
  std::uniform_int_distribution<int> x(0, 319), y(0, 233);
  for (int i = 0; i < drops; ++i) {
    const int px = x(rng), py = y(rng);
    cv::line(frame, {px, py}, {px + 1, py + 6}, cv::Scalar(200), 1);
  }
  return frame;
}

}  // namespace parts

using namespace parts;

std::vector<Scene> all_scenes() {
  std::vector<Scene> scenes;
  const cv::Mat day = background(1);

  scenes.push_back({"walk", 200, 10, {{50, 110}}, {}, [day](int f) { return walker(day, f, 50, 110, -45); }});

  // A person creeping: 0.5 px a frame (about 10 cm a second at this scale), over 240 frames.
  scenes.push_back({"creep", 320, 10, {{40, 280}}, {}, [day](int f) {
                      cv::Mat frame = day.clone();
                      if (f >= 40 && f <= 280) draw_person(frame, 60 + 0.5 * (f - 40), 185, -40);
                      return frame;
                    }});

  const cv::Mat dark = background(2, 35);
  scenes.push_back({"night-noise", 220, 10, {{60, 130}}, {}, [dark](int f) {
                      cv::setRNGSeed(1000 + f);
                      cv::Mat frame = walker(dark, f, 60, 130, 30);
                      add_noise(frame, 9);
                      return frame;
                    }});

  // Clouds: the whole scene dims to half and comes back over 20 s, twice.
  scenes.push_back({"brightness-ramp", 400, 10, {}, {}, [day](int f) {
                      const double gain = 0.75 + 0.25 * std::cos(2 * M_PI * f / 200.0);
                      cv::Mat frame;
                      day.convertTo(frame, CV_8U, gain);
                      return frame;
                    }});

  // A neighbour's security light floods most of the scene on and off, and car headlights sweep.
  scenes.push_back({"light-switch", 300, 10, {}, {}, [day](int f) {
                      cv::Mat frame = day.clone();
                      if ((f >= 100 && f < 180) || (f >= 240 && f < 260)) {
                        frame(cv::Rect(0, 60, 320, 180)) += cv::Scalar(70);
                      }
                      return frame;
                    }});

  // The day/night switch: IR cut filter out, tones remapped at once, noise rises.
  scenes.push_back({"ir-switch", 250, 10, {}, {}, [day](int f) {
                      cv::Mat frame = day.clone();
                      if (f >= 100) {
                        frame.convertTo(frame, CV_8U, 0.6, 60);
                        cv::setRNGSeed(f);
                        add_noise(frame, 5);
                      }
                      return frame;
                    }});

  scenes.push_back({"rain", 250, 10, {}, {}, [day](int f) { return rain(day.clone(), f, 150); }});
  scenes.push_back({"rain-walk", 250, 10, {{80, 150}}, {}, [day](int f) {
                      return rain(walker(day, f, 80, 150, -45), f, 150);
                    }});

  scenes.push_back({"snow", 250, 10, {}, {}, [day](int f) {
                      cv::Mat frame = day.clone();
                      std::mt19937 rng(42);
                      std::uniform_int_distribution<int> x(0, 319), y(0, 239);
                      for (int i = 0; i < 200; ++i) {
                        const int px = x(rng), py = (y(rng) + 2 * f) % 240;
                        cv::rectangle(frame, {px, py, 2, 2}, cv::Scalar(235), cv::FILLED);
                      }
                      return frame;
                    }});

  // A pole swaying in the wind: the view jitters by up to a pixel at analysis size (4 at 1080p).
  scenes.push_back({"camera-shake", 250, 10, {}, {}, [day](int f) { return shaken(day, f); }});

  // Trees and bushes in wind: a high-contrast patch that sways all the time; a person walks by later.
  cv::Mat foliage(60, 90, CV_8U);
  cv::RNG(5).fill(foliage, cv::RNG::UNIFORM, 40, 220);
  scenes.push_back({"trees-wind", 400, 10, {{300, 360}}, {}, [day, foliage](int f) {
                      cv::Mat frame = day.clone();
                      const int sway = static_cast<int>(std::lround(4 * std::sin(2 * M_PI * f / 13.0)));
                      cv::Mat leaves;
                      const cv::Mat shift = (cv::Mat_<double>(2, 3) << 1, 0, sway, 0, 1, 0);
                      cv::warpAffine(foliage, leaves, shift, foliage.size(), cv::INTER_NEAREST, cv::BORDER_WRAP);
                      leaves.copyTo(frame(cv::Rect(120, 40, 90, 60)));
                      if (f >= 300 && f <= 360) draw_person(frame, 20 + 4.5 * (f - 300), 185, -45);
                      return frame;
                    }});

  // Someone walks in, stands still for 20 s, walks out: one event.
  scenes.push_back({"stand-still", 400, 10, {{50, 330}}, {}, [day](int f) {
                      cv::Mat frame = day.clone();
                      double x = -1;
                      if (f >= 50 && f < 80) x = 20 + 4.0 * (f - 50);
                      else if (f >= 80 && f < 290) x = 140 + ((f / 7) % 2);  // fidgets a pixel
                      else if (f >= 290 && f <= 330) x = 141 + 4.0 * (f - 290);
                      if (x >= 0) draw_person(frame, x, 185, -45);
                      return frame;
                    }});

  // The device's own porch light lights the doorstep (an eighth of the view) on and off; the
  // pipeline is told as it switches.
  scenes.push_back({"own-light", 300, 10, {}, {100, 200}, [day](int f) {
                      cv::Mat frame = day.clone();
                      if (f >= 100 && f < 200) frame(cv::Rect(0, 170, 140, 70)) += cv::Scalar(70);
                      return frame;
                    }});
  return scenes;
}

Scene visits(std::string name, int frames, std::vector<std::pair<int, int>> visits) {
  const cv::Mat day = background(1);
  return Scene{std::move(name), frames, 10, visits, {}, [day, visits](int f) {
                 for (const auto& [enter, leave] : visits) {
                   if (f >= enter && f <= leave) return walker(day, f, enter, leave, -45);
                 }
                 return day.clone();
               }};
}

Scene scene(const std::string& name) {
  for (auto* family : {all_scenes, hard_scenes, tamper_scenes}) {
    for (auto& s : family()) {
      if (s.name == name) return s;
    }
  }
  throw std::invalid_argument("no scene " + name);
}

}  // namespace assure::test
