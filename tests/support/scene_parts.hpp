#pragma once
// The pieces the synthetic scenes are drawn from (tests/support/*scenes.cpp), all at 320x240 grey.

#include <opencv2/core.hpp>

namespace assure::test::parts {

// A textured street scene: smooth variation, a few buildings and a path; the same for a seed.
cv::Mat background(unsigned seed, double brightness = 110);
// A person: a body and a head, darker (negative) or lighter than the scene by `contrast`.
void draw_person(cv::Mat& frame, double x, double y_feet, double contrast);
// Gaussian sensor noise from cv::theRNG(): seed it per frame with cv::setRNGSeed for repeatability.
void add_noise(cv::Mat& frame, double sigma);
// `base` with a person walking across the path from frame `enter` to `leave`.
cv::Mat walker(const cv::Mat& base, int f, int enter, int leave, double contrast);
// A pole swaying: the view moved by up to a pixel either way, different in every frame.
cv::Mat shaken(const cv::Mat& frame, int f);
// Falling rain: `drops` short bright streaks, different in every frame.
cv::Mat rain(cv::Mat frame, int f, int drops);

}  // namespace assure::test::parts
