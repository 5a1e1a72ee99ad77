#pragma once
// Private to src/domain/: the pooled features of a models folder's members over a list of
// samples, and the fitting / scoring steps fit_models_domain and loso_models_domain share.
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "gradgate/dataset.h"
#include "gradgate/domain.h"
#include "gradgate/ensemble.h"
#include "gradgate/store/models_manifest.h"

namespace gradgate::domain_detail {

// The models folder's members with their manifest cards and weights (hash-checked), as
// classify builds them.
EnsembleOptions members_of(const ModelsManifest& manifest);

// Per member, one row per sample (in order): what Ensemble::pooled_features gives; then one
// more matrix, each film's look (image_look at ImageDomain's side). Images load `batch` at a
// time; one that cannot be read is a DatasetError naming it.
std::vector<FeatureMatrix> extract_features(Ensemble& ensemble, const std::vector<Sample>& samples, int batch,
                                            bool progress, const std::string& label);

// The rows `index` of `m`.
FeatureMatrix rows_of(const FeatureMatrix& m, const std::vector<std::size_t>& index);

// Every member fitted (members in parallel), in the ensemble's member order; with the look
// matrix after the members' (extract_features) and options.image, the film's look too.
DomainModel fit_domain(const std::vector<std::string>& members, const std::vector<FeatureMatrix>& train,
                       const std::vector<FeatureMatrix>& val, const DomainFitOptions& options);

// The image verdicts of the rows `index` of `features` (per member, in `members` order, then
// the look matrix when the model has the look).
std::vector<DomainVerdict> verdicts(const DomainModel& model, const std::vector<std::string>& members,
                                    const std::vector<FeatureMatrix>& features, const std::vector<std::size_t>& index);

// The features cache of loso (DomainFitRequest::features_cache): `key` names what they were
// computed from; load returns false (and leaves `out` alone) when the file is absent or its
// key or shape differ.
void save_features(const std::filesystem::path& file, const std::string& key, const std::vector<FeatureMatrix>& f);
bool load_features(const std::filesystem::path& file, const std::string& key, std::size_t rows, std::size_t members,
                   std::vector<FeatureMatrix>* out);

// "fnv1a64:<hex>" of a data set's manifest/CSV file; empty for a folder tree.
std::string data_file_hash(const std::filesystem::path& data);

}  // namespace gradgate::domain_detail
