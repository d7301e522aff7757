// Harder scenes: conditions combined, as real estates have them, and light that moves over part of
// the view. 320x240 grey at 10 fps.

#include <cmath>
#include <opencv2/imgproc.hpp>
#include <random>

#include "scene_parts.hpp"
#include "scenes.hpp"

namespace assure::test {

using namespace parts;

namespace {

// Multiplies `frame` by a soft-edged ellipse of light or shade: 1 outside, `gain` inside, with
// edges blurred over `softness` pixels (a cloud's shadow, a headlight's beam on the ground).
void light_patch(cv::Mat& frame, cv::Point centre, cv::Size axes, double gain, double softness) {
  cv::Mat patch = cv::Mat::zeros(frame.size(), CV_32F);
  cv::ellipse(patch, centre, axes, 0, 0, 360, cv::Scalar(1.0), cv::FILLED);
  cv::GaussianBlur(patch, patch, {0, 0}, softness);
  cv::Mat wide;
  frame.convertTo(wide, CV_32F);
  cv::Mat factor = 1.0 + patch * (gain - 1.0);
  cv::multiply(wide, factor, wide);
  wide.convertTo(frame, CV_8U);
}

}  // namespace

std::vector<Scene> hard_scenes() {
  std::vector<Scene> scenes;
  const cv::Mat day = background(1);
  const cv::Mat dark = background(2, 35);

  // A person sprinting across the whole view in one second (10 frames, 30 px a frame), twice.
  scenes.push_back({"sprint", 300, 10, {{80, 90}, {200, 210}}, {}, [day](int f) {
                      if (f >= 80 && f <= 90) return walker(day, f, 80, 90, -45);
                      if (f >= 200 && f <= 210) return walker(day, f, 200, 210, -45);
                      return day.clone();
                    }});
  // Night and rain at once: sensor noise, streaks of rain caught by the IR, a walker.
  scenes.push_back({"night-rain-walk", 260, 10, {{90, 160}}, {}, [dark](int f) {
                      cv::Mat frame = rain(walker(dark, f, 90, 160, 35), f, 120);
                      cv::setRNGSeed(2100 + f);
                      add_noise(frame, 7);
                      return frame;
                    }});
  // A swaying pole and a walker.
  scenes.push_back({"shake-walk", 250, 10, {{80, 150}}, {}, [day](int f) {
                      return shaken(walker(day, f, 80, 150, -45), f);
                    }});
  // Brightness swinging hard (clouds racing, auto-exposure hunting) and a walker.
  scenes.push_back({"ramp-walk", 300, 10, {{100, 170}}, {}, [day](int f) {
                      const double gain = 0.8 + 0.2 * std::sin(2 * M_PI * f / 60.0);
                      cv::Mat frame;
                      walker(day, f, 100, 170, -45).convertTo(frame, CV_8U, gain);
                      return frame;
                    }});
  // All at once: a windy night in the rain, the pole swaying, a walker.
  scenes.push_back({"storm-walk", 260, 10, {{90, 160}}, {}, [dark](int f) {
                      cv::Mat frame = shaken(rain(walker(dark, f, 90, 160, 35), f, 100), f);
                      cv::setRNGSeed(2500 + f);
                      add_noise(frame, 6);
                      return frame;
                    }});
  // A cloud's shadow drifting across a sunny street: a fifth of the view, 2 px a frame.
  const cv::Mat sunny = background(1, 150);
  scenes.push_back({"cloud-shadow", 300, 10, {}, {}, [sunny](int f) {
                      cv::Mat frame = sunny.clone();
                      light_patch(frame, {-80 + 2 * f, 130}, {90, 60}, 0.6, 14);
                      return frame;
                    }});
  // At night, a car's headlight beam sweeps across the ground; the car itself stays out of view.
  scenes.push_back({"headlight-sweep", 260, 10, {}, {}, [dark](int f) {
                      cv::Mat frame = dark.clone();
                      if (f >= 80 && f < 160) light_patch(frame, {-60 + 6 * (f - 80), 190}, {70, 30}, 2.6, 12);
                      cv::setRNGSeed(2900 + f);
                      add_noise(frame, 6);
                      return frame;
                    }});
  return scenes;
}

}  // namespace assure::test
