#include "image/container_check.h"

#include <algorithm>
#include <array>

namespace gradgate::image_detail {

namespace {

ContainerInfo info_for(Format f) {
  ContainerInfo info;
  info.format = f;
  return info;
}

// CRC-32 as PNG uses it (ISO 3309). Checking it here turns flipped bits into a clear
// "corrupt PNG" before libpng, which prints its own complaints to stderr, sees the data.
uint32_t png_crc(const uint8_t* data, std::size_t n) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t c = 0xFFFFFFFFu;
  for (std::size_t i = 0; i < n; ++i) c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

uint32_t be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}
uint32_t be16(const uint8_t* p) { return (uint32_t(p[0]) << 8) | uint32_t(p[1]); }
uint32_t le32(const uint8_t* p) {
  return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
}

ContainerInfo check_png(const std::vector<uint8_t>& b) {
  ContainerInfo info = info_for(Format::Png);
  const std::size_t n = b.size();
  std::size_t pos = 8;  // after the signature
  bool first = true;
  while (true) {
    if (pos + 8 > n) {
      info.problem = "truncated PNG (the file ends before its IEND chunk)";
      return info;
    }
    const uint32_t length = be32(&b[pos]);
    const std::string type(reinterpret_cast<const char*>(&b[pos + 4]), 4);
    if (length > 0x7fffffffu) {
      info.problem = "corrupt PNG (chunk length out of range)";
      return info;
    }
    if (first) {
      if (type != "IHDR" || length < 8 || pos + 16 > n) {
        info.problem = "corrupt PNG (no IHDR header chunk)";
        return info;
      }
      info.width = be32(&b[pos + 8]);
      info.height = be32(&b[pos + 12]);
      first = false;
    }
    const std::size_t end = pos + 8 + std::size_t(length) + 4;  // data + CRC
    if (end > n) {
      info.problem = "truncated PNG (chunk " + type + " runs past the end of the file)";
      return info;
    }
    if (png_crc(&b[pos + 4], std::size_t(length) + 4) != be32(&b[pos + 8 + length])) {
      info.problem = "corrupt PNG (checksum mismatch in chunk " + type + ")";
      return info;
    }
    if (type == "IEND") return info;
    pos = end;
  }
}

bool is_sof(uint8_t m) {
  // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC).
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

ContainerInfo check_jpeg(const std::vector<uint8_t>& b) {
  ContainerInfo info = info_for(Format::Jpeg);
  const std::size_t n = b.size();
  const std::string truncated = "truncated JPEG (the file ends before its end-of-image marker)";
  std::size_t pos = 2;  // after SOI
  while (true) {
    // Markers may be preceded by any number of 0xFF fill bytes.
    if (pos >= n) {
      info.problem = truncated;
      return info;
    }
    if (b[pos] != 0xFF) {
      info.problem = "corrupt JPEG (expected a marker at byte " + std::to_string(pos) + ")";
      return info;
    }
    while (pos < n && b[pos] == 0xFF) ++pos;
    if (pos >= n) {
      info.problem = truncated;
      return info;
    }
    const uint8_t marker = b[pos++];
    if (marker == 0xD9) return info;                                       // EOI
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;  // no length
    if (pos + 2 > n) {
      info.problem = truncated;
      return info;
    }
    const std::size_t length = be16(&b[pos]);
    if (length < 2) {
      info.problem = "corrupt JPEG (segment length below 2)";
      return info;
    }
    if (pos + length > n) {
      info.problem = truncated;
      return info;
    }
    if (is_sof(marker) && length >= 7) {
      info.height = be16(&b[pos + 3]);
      info.width = be16(&b[pos + 5]);
    }
    pos += length;
    if (marker == 0xDA) {
      // Entropy-coded data follows the scan header: it ends at the first 0xFF that is
      // neither byte stuffing (FF 00) nor a restart marker (FF D0..D7).
      while (true) {
        while (pos < n && b[pos] != 0xFF) ++pos;
        if (pos + 1 >= n) {
          info.problem = truncated;
          return info;
        }
        const uint8_t next = b[pos + 1];
        if (next == 0x00 || (next >= 0xD0 && next <= 0xD7) || next == 0xFF) {
          pos += (next == 0xFF) ? 1 : 2;
          continue;
        }
        break;  // a real marker: back to the segment loop
      }
    }
  }
}

ContainerInfo check_bmp(const std::vector<uint8_t>& b) {
  ContainerInfo info = info_for(Format::Bmp);
  if (b.size() < 26) {
    info.problem = "truncated BMP (incomplete header)";
    return info;
  }
  const uint32_t declared = le32(&b[2]);
  const uint32_t offset = le32(&b[10]);
  const uint32_t header = le32(&b[14]);
  if (header >= 40 && b.size() >= 26) {
    info.width = static_cast<int32_t>(le32(&b[18]));
    info.height = static_cast<int32_t>(le32(&b[22]));
    if (info.height < 0) info.height = -info.height;  // top-down bitmap
  }
  // Some writers leave the declared size 0; then the pixel offset is the only check.
  if ((declared != 0 && declared > b.size()) || offset >= b.size())
    info.problem = "truncated BMP (the header declares " + std::to_string(declared) +
                   " bytes, the file has " + std::to_string(b.size()) + ")";
  return info;
}

// The first image file directory's ImageWidth (256) and ImageLength (257), which libtiff
// allocates from: a 30000x30000 TIFF is then refused before decoding, not after 1.26 GB.
// Any other inconsistency is left to libtiff, which reports it itself.
ContainerInfo check_tiff(const std::vector<uint8_t>& b) {
  ContainerInfo info = info_for(Format::Tiff);
  const bool little = b[0] == 'I';
  const auto u16 = [&](std::size_t p) { return little ? (uint32_t(b[p]) | (uint32_t(b[p + 1]) << 8)) : be16(&b[p]); };
  const auto u32 = [&](std::size_t p) { return little ? le32(&b[p]) : be32(&b[p]); };
  const std::size_t n = b.size();
  if (n < 8) {
    info.problem = "truncated TIFF (incomplete header)";
    return info;
  }
  const std::size_t ifd = u32(4);
  if (ifd < 8 || ifd + 2 > n) {
    info.problem = "corrupt TIFF (the first image directory lies outside the file)";
    return info;
  }
  const std::size_t entries = u16(ifd);
  if (ifd + 2 + entries * 12 > n) {
    info.problem = "truncated TIFF (the first image directory runs past the end of the file)";
    return info;
  }
  for (std::size_t k = 0; k < entries; ++k) {
    const std::size_t e = ifd + 2 + k * 12;
    const uint32_t tag = u16(e), type = u16(e + 2);
    if (tag != 256 && tag != 257) continue;
    // SHORT (3) or LONG (4); one value, stored in the entry itself.
    const int64_t value = type == 3 ? u16(e + 8) : type == 4 ? u32(e + 8) : -1;
    if (value < 0) {
      info.problem = "corrupt TIFF (image size of an unexpected type)";
      return info;
    }
    (tag == 256 ? info.width : info.height) = value;
  }
  if (info.width == 0 || info.height == 0) info.problem = "corrupt TIFF (no image size in its first directory)";
  return info;
}

}  // namespace

const char* format_name(Format f) {
  switch (f) {
    case Format::Png: return "PNG";
    case Format::Jpeg: return "JPEG";
    case Format::Bmp: return "BMP";
    case Format::Tiff: return "TIFF";
    default: return "unknown";
  }
}

Format sniff_format(const std::vector<uint8_t>& b) {
  static const uint8_t png[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (b.size() >= 8 && std::equal(png, png + 8, b.begin())) return Format::Png;
  if (b.size() >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return Format::Jpeg;
  if (b.size() >= 2 && b[0] == 'B' && b[1] == 'M') return Format::Bmp;
  if (b.size() >= 4 && ((b[0] == 'I' && b[1] == 'I' && b[2] == 42 && b[3] == 0) ||
                        (b[0] == 'M' && b[1] == 'M' && b[2] == 0 && b[3] == 42)))
    return Format::Tiff;
  return Format::Unknown;
}

ContainerInfo check_container(const std::vector<uint8_t>& bytes) {
  switch (sniff_format(bytes)) {
    case Format::Png: return check_png(bytes);
    case Format::Jpeg: return check_jpeg(bytes);
    case Format::Bmp: return check_bmp(bytes);
    case Format::Tiff: return check_tiff(bytes);
    default: return info_for(Format::Unknown);
  }
}

}  // namespace gradgate::image_detail
