#include "gradgate/member_card.h"

#include "gradgate/config.h"
#include "gradgate/store/models_manifest.h"
#include "gradgate/zoo/member_info.h"

namespace gradgate {

MemberCard card_from_networks(const std::string& member, const std::string& preset,
                              const NetworksConfig& networks) {
  const PresetSpec p = networks.preset(member, preset);  // unknown member or preset throws
  MemberCard c;
  c.member = member;
  c.preset = preset;
  c.input_side = p.input_side;
  c.width = p.width;
  c.classifier_width = p.classifier_width;
  c.normalization = networks.normalization;
  c.feature_layer = member_info(member).feature_layer;
  return c;
}

MemberCard card_from_manifest(const ModelEntry& entry) {
  MemberCard c;
  c.member = entry.name;
  c.preset = entry.preset;
  c.input_side = entry.input_side;
  c.width = entry.width;
  c.classifier_width = entry.classifier_width;
  c.normalization = entry.normalization;
  c.feature_layer = member_info(entry.name).feature_layer;
  return c;
}

}  // namespace gradgate
