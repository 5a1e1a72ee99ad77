#pragma once
// DICOM input (the format X-rays come in), through DCMTK: one single-frame image per file,
// turned into the float gray in [0,1] ("bright = dense") that load_gray returns for the
// other formats. DCMTK stays behind this header: nothing else includes it.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include <opencv2/core.hpp>

namespace gradgate::image_detail {

// The DICOM file signature: "DICM" at offset 128, after the preamble.
bool has_dicom_signature(const uint8_t* bytes, std::size_t size);

// .dcm or .dicom, in any case.
bool has_dicom_extension(const std::filesystem::path& path);

// Whether load_gray reads `path` (a regular file) as DICOM: by the signature, or by the
// extension when the file starts with no other image format's signature (a DICOM data set
// written without the preamble; a PNG named .dcm is still read as the PNG it is).
bool reads_as_dicom(const std::filesystem::path& path);

// Reads a DICOM image as CV_32FC1 in [0,1]: the modality LUT (Rescale Slope/Intercept),
// then the file's first VOI LUT, else its first window (Window Center/Width), else the
// minimum to maximum of its values; MONOCHROME1 inverted; colour (RGB, YBR, palette) to
// luminance over the full scale, like a colour PNG. Refuses, before decoding the pixel data,
// what image.h's limits refuse (from Rows/Columns, and from a JPEG's own frame header, which
// must agree), multi-frame files, files without pixel data or with less than the header
// declares, and compressed transfer syntaxes without a decoder here (JPEG 2000, ...).
// Throws ImageError "<what>: <reason>".
cv::Mat read_dicom_gray(const std::filesystem::path& path, const std::string& what);

}  // namespace gradgate::image_detail
