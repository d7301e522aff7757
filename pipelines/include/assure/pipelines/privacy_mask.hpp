#pragma once
// The privacy-mask element, "assureprivacymask": a GStreamer video filter of our own that blacks
// out polygons in place, in the frame's own buffer and format (planar and semi-planar YUV, grey,
// packed RGB), before the picture is split for recording and analysis. Masked pixels never reach
// the encoder, the clips, the snapshots or the detector.
//
// Property "polygons": the text form of assure/base/polygon.hpp ("x,y x,y x,y;x,y ..."), in
// normalised coordinates, changeable while playing. Chroma samples are blacked wherever any luma
// pixel they cover is masked, so nothing of a masked area survives at its edge.

#include <string>
#include <vector>

#include "assure/base/polygon.hpp"

namespace assure::pipelines {

inline constexpr const char* kPrivacyMaskElement = "assureprivacymask";

// Registers the element with GStreamer (statically, no plugin file). ensure_gstreamer() calls it.
void register_privacy_mask();

// The gst-launch fragment for the element with these masks.
std::string privacy_mask_description(const std::vector<Polygon>& masks, const std::string& name = "privacy");

}  // namespace assure::pipelines
