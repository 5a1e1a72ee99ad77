#include "image/dicom.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <mutex>
#include <optional>
#include <vector>

// osconfig.h first: DCMTK's headers depend on what it defines.
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcdict.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
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
// deregistering them while another thread decodes is undefined (DCMTK's djdecode.h). DCMTK's
// log level is the program's to set (the tools quieten it: src/cli_common/process_policy.h).
void prepare_dcmtk_once() {
  static std::once_flag once;
  std::call_once(once, [] {
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

struct FrameSize {
  int64_t width = 0, height = 0;
};

// The size declared by the frame header (SOF0-15, or SOF55 for JPEG-LS) of a JPEG or JPEG-LS
// stream, when one comes before the first scan.
std::optional<FrameSize> jpeg_frame_size(const uint8_t* b, std::size_t n) {
  if (n < 4 || b[0] != 0xFF || b[1] != 0xD8) return std::nullopt;
  std::size_t pos = 2;  // after SOI
  while (pos + 4 <= n) {
    if (b[pos] != 0xFF) return std::nullopt;
    const uint8_t marker = b[pos + 1];
    if (marker == 0xFF) {  // fill byte
      ++pos;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // no length
      pos += 2;
      continue;
    }
    const bool sof = (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) ||
                     marker == 0xF7;
    // FF SOFn, length (2), precision (1), lines (2), samples per line (2).
    if (sof) {
      if (pos + 9 > n) return std::nullopt;
      return FrameSize{(int64_t(b[pos + 7]) << 8) | b[pos + 8], (int64_t(b[pos + 5]) << 8) | b[pos + 6]};
    }
    if (marker == 0xDA || marker == 0xD9) return std::nullopt;  // a scan or the end, and no frame header
    pos += 2 + ((std::size_t(b[pos + 2]) << 8) | b[pos + 3]);
  }
  return std::nullopt;
}

// A JPEG decoder allocates for the size the stream's own frame header declares, not Rows and
// Columns: a 64x64 DICOM holding a progressive JPEG that claims 60000x60000 took 149 s and
// 7 GB in DCMTK. So the first fragment's frame header must declare Rows x Columns.
void check_jpeg_frame(DcmElement& pixels, E_TransferSyntax transfer_syntax, int64_t rows, int64_t columns,
                      const std::string& what) {
  auto* pixel_data = dynamic_cast<DcmPixelData*>(&pixels);
  DcmPixelSequence* fragments = nullptr;
  DcmPixelItem* first = nullptr;  // item 0 is the offset table
  Uint8* bytes = nullptr;
  if (pixel_data == nullptr ||
      pixel_data->getEncapsulatedRepresentation(transfer_syntax, nullptr, fragments).bad() || fragments == nullptr ||
      fragments->getItem(first, 1).bad() || first == nullptr || first->getUint8Array(bytes).bad() ||
      bytes == nullptr)
    throw ImageError(what + ": compressed DICOM without a readable first fragment (corrupt pixel data)");
  const auto frame = jpeg_frame_size(bytes, first->getLength());
  if (!frame)
    throw ImageError(what + ": compressed DICOM whose first fragment holds no JPEG frame header (corrupt pixel data)");
  if (frame->width != columns || frame->height != rows)
    throw ImageError(what + ": the JPEG frame in the DICOM declares " + std::to_string(frame->width) + "x" +
                     std::to_string(frame->height) + " pixels, its header " + std::to_string(columns) + "x" +
                     std::to_string(rows) + " (corrupt or forged; refused before decoding)");
}

// Everything about the file that can be refused is refused here, from the header, before a
// pixel is read: the size (image.h's limits), the frame count, the samples and bits, missing or
// short pixel data, a compression without a decoder, a JPEG frame of another size.
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

  // The decoders allocate Rows x Columns x samples x bits: a corrupt Samples per Pixel of
  // 30211 made a 224x224 JPEG frame 1.5 GB and a minute of decoding.
  Uint16 samples = 0, bits_allocated = 0;
  data_set.findAndGetUint16(DCM_SamplesPerPixel, samples);
  data_set.findAndGetUint16(DCM_BitsAllocated, bits_allocated);
  if (samples != 1 && samples != 3)
    throw ImageError(what + ": DICOM with " + std::to_string(samples) +
                     " Samples per Pixel (0028,0002); expected 1 (gray) or 3 (colour)");
  if (bits_allocated != 8 && bits_allocated != 16)
    throw ImageError(what + ": DICOM with " + std::to_string(bits_allocated) +
                     " Bits Allocated (0028,0100); expected 8 or 16");

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
    // RLE decodes into the Rows x Columns frame; JPEG and JPEG-LS into what their header says.
    if (transfer_syntax != EXS_RLELossless) check_jpeg_frame(*pixels, transfer_syntax, rows, columns, what);
    return;
  }
  // Uncompressed: DCMTK pads short pixel data with zeros (a warning only); here it is an error.
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
