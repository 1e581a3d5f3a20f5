package router

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/switchyard/switchyard/rules"
)

// The action kinds are one list: the router's registry, the loader's
// sections and the JSON Schema's action properties name the same kinds,
// and each kind has workers and a policy of its own.
func TestActionKinds(t *testing.T) {
	kinds := ActionKinds()
	if loader := slices.Sorted(slices.Values(rules.ActionKinds)); !slices.Equal(kinds, loader) {
		t.Errorf("the router builds %v, the loader reads %v", kinds, loader)
	}
	data, err := os.ReadFile("../rules.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Defs map[string]struct {
			Properties map[string]struct {
				Ref string `json:"$ref"`
			} `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	for _, k := range kinds {
		prop, ok := schema.Defs["action"].Properties[k]
		if !ok || prop.Ref != "#/$defs/"+k+"Action" {
			t.Errorf("the schema's action has no %s: {$ref: #/$defs/%sAction}", k, k)
		}
		if _, ok := schema.Defs[k+"Action"]; !ok {
			t.Errorf("the schema defines no %sAction", k)
		}
		if DefaultWorkers(k) < 1 || DefaultPolicy(k).Attempts < 1 || DefaultPolicy(k).Timeout <= 0 {
			t.Errorf("kind %s: workers %d, policy %+v", k, DefaultWorkers(k), DefaultPolicy(k))
		}
	}
}
