// Tamper scenes: each kind of attack on a camera, with ground truth, and the nuisances that must
// never be taken for one. 320x240 grey at 10 fps unless said.

#include <cmath>
#include <opencv2/imgproc.hpp>
#include <random>

#include "scene_parts.hpp"
#include "scenes.hpp"

namespace assure::test {

using namespace parts;

namespace {

// People come and go on the path now and then, as on any estate.
cv::Mat street(const cv::Mat& base, int f) {
  const int period = 160;
  const int t = f % period;
  return t >= 20 && t <= 80 ? walker(base, t, 20, 80, -45) : base.clone();
}

// A hand or tape over the lens: nearly uniform, a little light bleeding in, sensor noise.
cv::Mat hand(int f, double level) {
  cv::Mat frame(240, 320, CV_8U, cv::Scalar(level));
  cv::circle(frame, {300, 20}, 60, cv::Scalar(level + 6), cv::FILLED);
  cv::GaussianBlur(frame, frame, {0, 0}, 25);
  cv::setRNGSeed(500 + f);
  add_noise(frame, 3);
  return frame;
}

}  // namespace

std::vector<Scene> tamper_scenes() {
  std::vector<Scene> scenes;
  const cv::Mat day = background(1);

  scenes.push_back({"cover-hand", 450, 10, {}, {}, [day](int f) {
                      return f >= 150 && f < 320 ? hand(f, 14) : street(day, f);
                    }, {{"covered", 150, 320}}});
  // A torch shone into the lens: blinded, bright and flat.
  scenes.push_back({"cover-torch", 450, 10, {}, {}, [day](int f) {
                      return f >= 150 && f < 320 ? hand(f, 240) : street(day, f);
                    }, {{"covered", 150, 320}}});
  // Spray paint: a translucent grey film that scatters the light; cleaned off at 360.
  scenes.push_back({"spray", 450, 10, {}, {}, [day](int f) {
                      cv::Mat frame = street(day, f);
                      if (f >= 150 && f < 360) {
                        cv::GaussianBlur(frame, frame, {0, 0}, 6);
                        frame.convertTo(frame, CV_8U, 0.45, 0.55 * 150);
                      }
                      return frame;
                    }, {{"defocused", 150, 360}}});
  // The focus ring turned (or grease smeared on the dome): blurred for good.
  scenes.push_back({"defocus", 400, 10, {}, {}, [day](int f) {
                      cv::Mat frame = street(day, f);
                      if (f >= 150) cv::GaussianBlur(frame, frame, {0, 0}, 4);
                      return frame;
                    }, {{"defocused", 150, -1}}});
  // Pushed round to face a wall: another view, with its own texture, from frame 150.
  const cv::Mat wall = [] {
    cv::Mat w = background(77, 120);
    for (int y = 0; y < 240; y += 12) cv::line(w, {0, y}, {319, y}, cv::Scalar(90), 2);
    for (int y = 0; y < 240; y += 12) {
      for (int x = (y / 12) % 2 * 12; x < 320; x += 24) cv::line(w, {x, y}, {x, y + 12}, cv::Scalar(90), 2);
    }
    return w;
  }();
  scenes.push_back({"moved-wall", 400, 10, {}, {}, [day, wall](int f) {
                      return f >= 150 ? wall.clone() : street(day, f);
                    }, {{"moved", 150, -1}}});
  // Knocked round by a quarter of the view: the same street, much of it new.
  scenes.push_back({"moved-pan", 400, 10, {}, {}, [day](int f) {
                      cv::Mat frame = street(day, f);
                      if (f < 150) return frame;
                      const cv::Mat other = background(31);
                      cv::Mat out = other.clone();
                      frame(cv::Rect(0, 0, 240, 240)).copyTo(out(cv::Rect(80, 0, 240, 240)));
                      return out;
                    }, {{"moved", 150, -1}}});

  // Nuisances: none of these is tamper.
  // Night falls over 20 minutes (2 frames a second): the light goes to a fifth and noise rises.
  scenes.push_back({"night-falling", 2400, 2, {}, {}, [day](int f) {
                      const double t = std::clamp(f / 2400.0, 0.0, 1.0);
                      const double gain = 1.0 - 0.8 * (0.5 - 0.5 * std::cos(M_PI * t));
                      cv::Mat frame;
                      street(day, f).convertTo(frame, CV_8U, gain);
                      cv::setRNGSeed(900 + f);
                      add_noise(frame, 1 + 7 * t);
                      return frame;
                    }});
  // A neighbour's security light floods most of the view and stays on for a minute.
  scenes.push_back({"light-on-long", 800, 10, {}, {}, [day](int f) {
                      cv::Mat frame = street(day, f);
                      if (f >= 100 && f < 700) frame(cv::Rect(0, 60, 320, 180)) += cv::Scalar(70);
                      return frame;
                    }});
  // Night, then the IR illuminator comes on: tones remapped, noise high.
  scenes.push_back({"ir-night", 400, 10, {}, {}, [](int f) {
                      cv::Mat frame = background(2, 35);
                      if (f >= 150) frame.convertTo(frame, CV_8U, 1.8, 40);
                      cv::setRNGSeed(1300 + f);
                      add_noise(frame, f >= 150 ? 10 : 6);
                      return frame;
                    }});
  // Heavy sensor noise in a dark scene for a minute.
  scenes.push_back({"heavy-noise", 600, 10, {}, {}, [](int f) {
                      cv::Mat frame = street(background(2, 35), f);
                      cv::setRNGSeed(1700 + f);
                      add_noise(frame, 14);
                      return frame;
                    }});
  // Someone stands right in front of the camera (a big dark shape over half the view) for four
  // seconds, twice: motion, not tamper.
  scenes.push_back({"close-person", 500, 10, {{100, 140}, {300, 340}}, {}, [day](int f) {
                      cv::Mat frame = day.clone();
                      if ((f >= 100 && f <= 140) || (f >= 300 && f <= 340)) {
                        const int sway = static_cast<int>(std::lround(6 * std::sin(f / 3.0)));
                        cv::ellipse(frame, {160 + sway, 260}, {110, 230}, 0, 0, 360, cv::Scalar(40), cv::FILLED);
                        cv::circle(frame, {160 + sway, 40}, 45, cv::Scalar(70), cv::FILLED);
                      }
                      return frame;
                    }});
  return scenes;
}

}  // namespace assure::test
