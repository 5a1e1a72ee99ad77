#include "image/dicom.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <mutex>
#include <vector>

// osconfig.h first: DCMTK's headers depend on what it defines.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmimage/diregist.h>  // lets DicomImage read colour (RGB, YBR, palette) images
#include <dcmtk/dcmimgle/dcmimage.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>
#include <opencv2/imgproc.hpp>

#include "gradgate/error.h"
#include "image/container_check.h"
#include "image/file_limits.h"

namespace gradgate::image_detail {

namespace fs = std::filesystem;

namespace {

// loadFile leaves elements longer than this in the file until they are asked for, so the
// header is read and checked without reading the pixel data.
constexpr Uint32 kHeaderReadLength = 4096;

constexpr std::size_t kPreambleBytes = 128;

// Once per process. The decoders of the compressed transfer syntaxes DCMTK has (JPEG,
// JPEG-LS, RLE; it has none for JPEG 2000); they stay registered until exit, because
// deregistering them while another thread decodes is undefined (DCMTK's djdecode.h). And
// DCMTK's log quietened: each failure becomes an ImageError with the reason, so its own
// lines on stderr would only repeat it.
void prepare_dcmtk_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
  });
}

std::string text_of(DcmDataset& data_set, const DcmTagKey& tag) {
  OFString value;
  if (data_set.findAndGetOFString(tag, value).bad()) return "";
  return value.c_str();
}

// Everything about the file that can be refused is refused here, from the header, before a
// pixel is read: the size (image.h's limits), the frame count, missing or short pixel data,
// a compression without a decoder.
void check_header(DcmDataset& data_set, const std::string& what) {
  Uint16 rows = 0, columns = 0;
  if (data_set.findAndGetUint16(DCM_Rows, rows).bad() || data_set.findAndGetUint16(DCM_Columns, columns).bad())
    throw ImageError(what + ": DICOM without Rows and Columns (0028,0010/0011): not an image, or a corrupt header");
  check_image_size(columns, rows, what);

  if (data_set.tagExistsWithValue(DCM_NumberOfFrames)) {
    Sint32 frames = 0;
    if (data_set.findAndGetSint32(DCM_NumberOfFrames, frames).bad() || frames < 1)
      throw ImageError(what + ": DICOM with an invalid Number of Frames (0028,0008) '" +
                       text_of(data_set, DCM_NumberOfFrames) + "'");
    if (frames > 1)
      throw ImageError(what + ": multi-frame DICOM (" + std::to_string(frames) +
                       " frames); only single-frame images are read (save the frame to classify as its own file)");
  }

  DcmElement* pixels = nullptr;
  if (data_set.findAndGetElement(DCM_PixelData, pixels).bad() || pixels == nullptr)
    throw ImageError(what + ": DICOM without pixel data (7FE0,0010): not an image (a report, a DICOMDIR, "
                            "a presentation state, ...)");

  const E_TransferSyntax transfer_syntax = data_set.getOriginalXfer();
  const DcmXfer syntax(transfer_syntax);
  if (syntax.isEncapsulated()) {
    if (!DcmCodecList::canChangeCoding(transfer_syntax, EXS_LittleEndianExplicit))
      throw ImageError(what + ": DICOM compressed as " + syntax.getXferName() + " (" + syntax.getXferID() +
                       "), which cannot be decoded here (readable: uncompressed, RLE, JPEG baseline, extended "
                       "and lossless, JPEG-LS)");
    return;  // the decoder checks the fragments' lengths
  }
  // Uncompressed: DCMTK pads short pixel data with zeros (a warning only); here it is an error.
  Uint16 samples = 1, bits_allocated = 0;
  data_set.findAndGetUint16(DCM_SamplesPerPixel, samples);
  data_set.findAndGetUint16(DCM_BitsAllocated, bits_allocated);
  const uint64_t needed = (uint64_t(rows) * columns * samples * bits_allocated + 7) / 8;
  if (pixels->getLength() < needed)
    throw ImageError(what + ": DICOM pixel data of " + std::to_string(pixels->getLength()) + " bytes, but " +
                     std::to_string(columns) + "x" + std::to_string(rows) + " pixels of " +
                     std::to_string(samples) + "x" + std::to_string(bits_allocated) + " bits need " +
                     std::to_string(needed) + " (truncated or corrupt)");
}

// The file's first VOI LUT, else its first window, else its values' minimum to maximum. A
// LUT or window DCMTK cannot use (a width below 1, a malformed LUT) falls back to the next.
void choose_voi(DicomImage& image) {
  if (image.getVoiLutCount() > 0 && image.setVoiLut(0)) return;
  if (image.getWindowCount() > 0 && image.setWindow(0)) return;
  image.setMinMaxWindow(0);
}

// DicomImage does the arithmetic the standard defines: modality LUT (rescale), VOI,
// MONOCHROME1's inversion (its output is always "bright = dense"), colour models to RGB.
cv::Mat decode_pixels(DcmFileFormat& file, const std::string& what) {
  DcmDataset& data_set = *file.getDataset();
  const std::string photometric = text_of(data_set, DCM_PhotometricInterpretation);
  // CIF_MayDetachPixelData: the encoded pixels are freed once converted (one copy less).
  DicomImage image(&file, data_set.getOriginalXfer(), CIF_MayDetachPixelData, 0, 1);
  if (image.getStatus() != EIS_Normal)
    throw ImageError(what + ": DICOM pixel data cannot be read (" + DicomImage::getString(image.getStatus()) +
                     "; Photometric Interpretation '" + photometric + "')");
  const int64_t width = static_cast<int64_t>(image.getWidth()), height = static_cast<int64_t>(image.getHeight());
  check_image_size(width, height, what);

  if (image.isMonochrome()) choose_voi(image);
  // 16 bits out: a window over 12-bit data keeps its steps. Colour comes interleaved R,G,B.
  const void* out = image.getOutputData(16);
  if (out == nullptr)
    throw ImageError(what + ": DICOM pixel data cannot be converted (" + DicomImage::getString(image.getStatus()) +
                     ")");
  const int rows = static_cast<int>(height), cols = static_cast<int>(width);
  cv::Mat gray;
  if (image.isMonochrome()) {
    cv::Mat(rows, cols, CV_16UC1, const_cast<void*>(out)).convertTo(gray, CV_32F, 1.0 / 65535.0);
  } else {
    // Luminance over the full scale, as to_gray_float does for a colour PNG: a colour DICOM
    // is a rendered picture (a secondary capture), not values to window.
    cv::Mat rgb;
    cv::Mat(rows, cols, CV_16UC3, const_cast<void*>(out)).convertTo(rgb, CV_32F, 1.0 / 65535.0);
    cv::cvtColor(rgb, gray, cv::COLOR_RGB2GRAY);
  }
  return gray;  // its own copy: `out` belongs to `image`
}

}  // namespace

bool has_dicom_signature(const uint8_t* bytes, std::size_t size) {
  static const uint8_t magic[4] = {'D', 'I', 'C', 'M'};
  return size >= kPreambleBytes + 4 && std::equal(magic, magic + 4, bytes + kPreambleBytes);
}

bool has_dicom_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".dcm" || ext == ".dicom";
}

bool reads_as_dicom(const fs::path& path) {
  std::vector<uint8_t> head(kPreambleBytes + 4);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(head.data()), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(std::max<std::streamsize>(in.gcount(), 0)));
  if (has_dicom_signature(head.data(), head.size())) return true;
  return has_dicom_extension(path) && sniff_format(head) == Format::Unknown;
}

cv::Mat read_dicom_gray(const fs::path& path, const std::string& what) {
  check_image_file(path, what);
  prepare_dcmtk_once();
  if (!dcmDataDict.isDictionaryLoaded())
    throw ImageError(what + ": cannot read DICOM: DCMTK's data dictionary is not loaded (Debian's libdcmtk17 "
                            "installs /usr/share/libdcmtk17/dicom.dic; DCMDICTPATH can name another)");
  DcmFileFormat file;
  // autoDetect: also a data set written without the preamble and meta header (named .dcm).
  const OFCondition loaded =
      file.loadFile(OFFilename(path.c_str()), EXS_Unknown, EGL_noChange, kHeaderReadLength, ERM_autoDetect);
  if (loaded.bad()) throw ImageError(what + ": corrupt or truncated DICOM (" + loaded.text() + ")");
  check_header(*file.getDataset(), what);
  return decode_pixels(file, what);
}

}  // namespace gradgate::image_detail
