#pragma once
// Checks an encoded image's container before OpenCV decodes it. OpenCV's decoders accept
// truncated PNG/JPEG files with a warning on stderr and hand back partly grey images, and
// they allocate whatever size a header claims; both must be errors here, with the reason.
#include <cstdint>
#include <string>
#include <vector>

namespace gradgate::image_detail {

enum class Format { Png, Jpeg, Bmp, Tiff, Unknown };

const char* format_name(Format f);
Format sniff_format(const std::vector<uint8_t>& bytes);

struct ContainerInfo {
  Format format = Format::Unknown;
  int64_t width = 0;   // from the header (PNG IHDR, JPEG SOF, BMP, TIFF's first IFD)
  int64_t height = 0;
  std::string problem;  // empty when the container is complete and consistent
};

// Walks the PNG chunks (to IEND), the JPEG markers (to EOI), the BMP header's declared
// size, the TIFF's first directory (its size; the rest is left to libtiff).
ContainerInfo check_container(const std::vector<uint8_t>& bytes);

}  // namespace gradgate::image_detail
