#pragma once
// Factory functions, one per architecture, each defined in its family's file under src/zoo/.
#include "gradgate/zoo/member.h"

namespace gradgate::zoo {

Member make_alexnet(const MemberOptions& o);             // alexnet.cpp
Member make_vgg16(const MemberOptions& o);               // vgg.cpp
Member make_vgg19(const MemberOptions& o);               // vgg.cpp
Member make_squeezenet1_1(const MemberOptions& o);       // squeezenet.cpp
Member make_googlenet(const MemberOptions& o);           // googlenet.cpp
Member make_inception_v3(const MemberOptions& o);        // inception_v3.cpp
Member make_inception_resnet_v2(const MemberOptions& o); // inception_resnet_v2.cpp
Member make_resnet18(const MemberOptions& o);            // resnet.cpp
Member make_resnet50(const MemberOptions& o);            // resnet.cpp
Member make_resnet101(const MemberOptions& o);           // resnet.cpp
Member make_densenet201(const MemberOptions& o);         // densenet.cpp
Member make_mobilenet_v2(const MemberOptions& o);        // mobilenet_v2.cpp
Member make_shufflenet_v2_x1_0(const MemberOptions& o);  // shufflenet_v2.cpp
Member make_xception(const MemberOptions& o);            // xception.cpp
Member make_nasnet_mobile(const MemberOptions& o);       // nasnet.cpp
Member make_nasnet_large(const MemberOptions& o);        // nasnet.cpp
Member make_darknet19(const MemberOptions& o);           // darknet.cpp
Member make_darknet53(const MemberOptions& o);           // darknet.cpp

}  // namespace gradgate::zoo
