// Command istio-oracle asks Istio's own code what istiod does with EnvoyFilters.
//
// stdin: one JSON object per line, {"id": "...", "object": <EnvoyFilter as the API server stores it>}.
// stdout: one JSON object per line, in the same order:
//
//	{"id": ..., "admitted": bool, "error": "...", "warnings": [...],
//	 "patches": [{"index": n, "applyTo": "HTTP_FILTER", "operation": "ADD", "value": {...}, "error": "...",
//	              "mergedIntoInferencePool": {...}, "mergeError": "..."}]}
//
// admitted/error/warnings are istiod's validating webhook (the decode and conversion it does, then
// ValidateEnvoyFilter). patches[].value is what istiod pushes for each patch: BuildXDSObjectFromStruct
// in the non-strict mode the push uses, marshalled as proto JSON with proto field names.
//
// patches[].mergedIntoInferencePool, for an HTTP_FILTER MERGE whose match picks the ext_proc filter istiod
// inserts on a gateway with InferencePool routes (see mergesIntoInferencePoolFilter), is that filter after
// the MERGE: a clone of istiod's own filters.InferencePoolExtProc, merged with the MERGEs up to this one
// (in order) as mergeHTTPFilter does, with util.MergeAnyWithAny. mergeError says why the merge failed
// instead (istiod's merge panics, for one, on a typed_config of another type than its filter's).
//
// With arguments `--fields <message full name>...` it prints instead, as one JSON object, the fields
// (proto name and JSON name) of each message as istiod's Envoy API knows them: what it keeps, and so what
// it drops.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/go-multierror"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"
	networking "istio.io/api/networking/v1alpha3"

	hcm "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"

	"istio.io/istio/pilot/pkg/config/kube/crd"
	"istio.io/istio/pilot/pkg/networking/util"
	xdsfilters "istio.io/istio/pilot/pkg/xds/filters"
	"istio.io/istio/pkg/config/schema/collections"
	"istio.io/istio/pkg/config/xds"
	"istio.io/istio/pkg/wellknown"
)

type request struct {
	ID     string          `json:"id"`
	Object json.RawMessage `json:"object"`
}

type patchResult struct {
	Index     int             `json:"index"`
	ApplyTo   string          `json:"applyTo"`
	Operation string          `json:"operation"`
	Value     json.RawMessage `json:"value,omitempty"`
	Error     string          `json:"error,omitempty"`
	// MergedIntoInferencePool is istiod's InferencePool ext_proc filter after this MERGE (and the earlier ones).
	MergedIntoInferencePool json.RawMessage `json:"mergedIntoInferencePool,omitempty"`
	MergeError              string          `json:"mergeError,omitempty"`
}

type result struct {
	ID       string        `json:"id"`
	Admitted bool          `json:"admitted"`
	Error    string        `json:"error,omitempty"`
	Warnings []string      `json:"warnings"`
	Patches  []patchResult `json:"patches"`
}

var marshal = protojson.MarshalOptions{UseProtoNames: true}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "--fields" {
		printFields(os.Args[2:])
		return
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	encoder := json.NewEncoder(out)
	encoder.SetEscapeHTML(false)
	for in.Scan() {
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		var req request
		if err := json.Unmarshal([]byte(line), &req); err != nil {
			fmt.Fprintf(os.Stderr, "istio-oracle: bad input line: %v\n", err)
			os.Exit(2)
		}
		if err := encoder.Encode(judge(req)); err != nil {
			fmt.Fprintf(os.Stderr, "istio-oracle: %v\n", err)
			os.Exit(2)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "istio-oracle: reading stdin: %v\n", err)
		os.Exit(2)
	}
}

// judge runs the steps of istiod's validating webhook (pkg/webhooks/validation/server.validate) for an
// EnvoyFilter, then translates every patch as the push does (pilot/pkg/model/envoyfilter.go).
func judge(req request) result {
	res := result{ID: req.ID, Warnings: []string{}, Patches: []patchResult{}}
	schema := collections.EnvoyFilter
	var obj crd.IstioKind
	if err := json.Unmarshal(req.Object, &obj); err != nil {
		res.Error = fmt.Sprintf("cannot decode configuration: %v", err)
		return res
	}
	cfg, err := crd.ConvertObject(schema, &obj, "cluster.local")
	if err != nil {
		res.Error = fmt.Sprintf("error decoding configuration: %v", err)
		return res
	}
	warnings, err := schema.ValidateConfig(*cfg)
	res.Warnings = flatten(warnings)
	if err != nil {
		res.Error = fmt.Sprintf("configuration is invalid: %v", err)
	} else {
		res.Admitted = true
	}

	spec := cfg.Spec.(*networking.EnvoyFilter)
	inferencePoolFilter := proto.Clone(xdsfilters.InferencePoolExtProc).(*hcm.HttpFilter)
	for i, cp := range spec.ConfigPatches {
		pr := patchResult{Index: i, ApplyTo: cp.GetApplyTo().String(), Operation: cp.GetPatch().GetOperation().String()}
		if cp.GetPatch().GetValue() != nil {
			msg, err := xds.BuildXDSObjectFromStruct(cp.ApplyTo, cp.Patch.Value, false)
			if err != nil {
				pr.Error = err.Error()
			} else if msg != nil {
				pr.Value = mustMarshal(msg)
				if mergesIntoInferencePoolFilter(cp) {
					if err := mergeHTTPFilter(inferencePoolFilter, msg.(*hcm.HttpFilter)); err != nil {
						pr.MergeError = err.Error()
					} else {
						pr.MergedIntoInferencePool = mustMarshal(inferencePoolFilter)
					}
				}
			}
		}
		res.Patches = append(res.Patches, pr)
	}
	return res
}

// mergesIntoInferencePoolFilter: an HTTP_FILTER MERGE whose match picks istiod's InferencePool ext_proc filter
// on a gateway's HTTP connection manager, as pilot/pkg/networking/core/envoyfilter/listener_patch.go matches
// it (patchContextMatch, networkFilterMatch, httpFilterMatch). A MERGE without a subFilter would merge into
// every HTTP filter of the chain, and is not reported. Listener and filter-chain matches (port, name) are not
// evaluated: the oracle's gateway has the listener any of them would pick. Nor is the workloadSelector: the
// oracle's gateway is a Gateway API gateway with InferencePool routes.
func mergesIntoInferencePoolFilter(cp *networking.EnvoyFilter_EnvoyConfigObjectPatch) bool {
	if cp.GetApplyTo() != networking.EnvoyFilter_HTTP_FILTER || cp.GetPatch().GetOperation() != networking.EnvoyFilter_Patch_MERGE {
		return false
	}
	context := cp.GetMatch().GetContext()
	if context != networking.EnvoyFilter_GATEWAY && context != networking.EnvoyFilter_ANY {
		return false
	}
	filter := cp.GetMatch().GetListener().GetFilterChain().GetFilter()
	return filter.GetName() == wellknown.HTTPConnectionManager && filter.GetSubFilter().GetName() == xdsfilters.InferencePoolExtProc.GetName()
}

// mergeHTTPFilter merges a MERGE's filter into httpFilter as the MERGE branch of listener_patch.go mergeHTTPFilter
// does, with the same Istio function for the typed configs (util.MergeAnyWithAny). Where that function errs, istiod
// keeps the filter's config; where it panics (a typed_config of another message type), istiod's listener
// patching recovers and drops the patches of the whole push for the listener (ApplyListenerPatches): an error here.
func mergeHTTPFilter(httpFilter, userHTTPFilter *hcm.HttpFilter) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("istiod's merge panics: %v", r)
		}
	}()
	if httpFilter.GetTypedConfig() == nil {
		return nil
	}
	httpFilterName := httpFilter.Name
	if userHTTPFilter.Name != "" {
		httpFilterName = userHTTPFilter.Name
	}
	var retVal *anypb.Any
	if userHTTPFilter.GetTypedConfig() != nil {
		if retVal, err = util.MergeAnyWithAny(httpFilter.GetTypedConfig(), userHTTPFilter.GetTypedConfig()); err != nil {
			retVal = httpFilter.GetTypedConfig()
		}
	}
	httpFilter.Name = httpFilterName
	if retVal != nil {
		httpFilter.ConfigType = &hcm.HttpFilter_TypedConfig{TypedConfig: retVal}
	}
	return nil
}

func mustMarshal(msg proto.Message) json.RawMessage {
	b, err := marshal.Marshal(msg)
	if err != nil {
		b, _ = json.Marshal(map[string]string{"oracle_marshal_error": err.Error()})
	}
	return b
}

func flatten(err error) []string {
	if err == nil {
		return []string{}
	}
	var multi *multierror.Error
	if errors.As(err, &multi) {
		out := []string{}
		for _, e := range multi.Errors {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

// printFields prints {"full.Name": [["proto_name", "jsonName", "kind"], ...]} for each message named; kind is
// the scalar kind (bool, string, enum:<full name>, ...), message:<full name>, with a "repeated " or "map "
// prefix for lists and maps.
func printFields(names []string) {
	out := map[string][][3]string{}
	for _, name := range names {
		mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName(name))
		if err != nil {
			fmt.Fprintf(os.Stderr, "istio-oracle: %s: %v\n", name, err)
			os.Exit(2)
		}
		fields := mt.Descriptor().Fields()
		list := [][3]string{}
		for i := 0; i < fields.Len(); i++ {
			fd := fields.Get(i)
			list = append(list, [3]string{string(fd.Name()), fd.JSONName(), kindOf(fd)})
		}
		out[name] = list
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(2)
	}
}

func kindOf(fd protoreflect.FieldDescriptor) string {
	prefix := ""
	if fd.IsMap() {
		return "map"
	} else if fd.IsList() {
		prefix = "repeated "
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return prefix + "message:" + string(fd.Message().FullName())
	case protoreflect.EnumKind:
		return prefix + "enum:" + string(fd.Enum().FullName())
	default:
		return prefix + fd.Kind().String()
	}
}
