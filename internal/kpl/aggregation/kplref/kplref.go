// Package kplref is a reference codec for KPL aggregated records, built on
// the protobuf runtime from a hand-written descriptor, independently of the
// hand-written encoder and decoder of package aggregation. Tests compare
// those with it byte for byte. It is for tests only.
package kplref

import (
	"bytes"
	"crypto/md5"
	"fmt"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

// Magic opens every aggregated record.
var Magic = [4]byte{0xF3, 0x89, 0x9A, 0xC2}

// Tag is a user record's tag.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Record is one user record.
type Record struct {
	PK, EHK string // EHK "" = none
	Data    []byte
	Tags    []Tag
}

var aggregated = func() protoreflect.MessageDescriptor {
	opt := descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum()
	req := descriptorpb.FieldDescriptorProto_LABEL_REQUIRED.Enum()
	rep := descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
	str := descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()
	u64 := descriptorpb.FieldDescriptorProto_TYPE_UINT64.Enum()
	byt := descriptorpb.FieldDescriptorProto_TYPE_BYTES.Enum()
	msg := descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum()
	field := func(name string, num int32, l *descriptorpb.FieldDescriptorProto_Label,
		t *descriptorpb.FieldDescriptorProto_Type, typeName string) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{Name: proto.String(name), Number: proto.Int32(num), Label: l, Type: t}
		if typeName != "" {
			f.TypeName = proto.String(typeName)
		}
		return f
	}
	fd := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("kpl_reference.proto"),
		Package: proto.String("kplref"),
		Syntax:  proto.String("proto2"),
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("AggregatedRecord"), Field: []*descriptorpb.FieldDescriptorProto{
				field("partition_key_table", 1, rep, str, ""),
				field("explicit_hash_key_table", 2, rep, str, ""),
				field("records", 3, rep, msg, ".kplref.Record"),
			}},
			{Name: proto.String("Tag"), Field: []*descriptorpb.FieldDescriptorProto{
				field("key", 1, req, str, ""),
				field("value", 2, opt, str, ""),
			}},
			{Name: proto.String("Record"), Field: []*descriptorpb.FieldDescriptorProto{
				field("partition_key_index", 1, req, u64, ""),
				field("explicit_hash_key_index", 2, opt, u64, ""),
				field("data", 3, req, byt, ""),
				field("tags", 4, rep, msg, ".kplref.Tag"),
			}},
		},
	}
	f, err := protodesc.NewFile(fd, nil)
	if err != nil {
		panic(err)
	}
	return f.Messages().ByName("AggregatedRecord")
}()

// Encode encodes records with the protobuf runtime, building the tables in
// first-seen order as the KPL does. A Tag with an empty Value has no value.
func Encode(recs []Record) ([]byte, error) {
	md := aggregated
	m := dynamicpb.NewMessage(md)
	pkt := m.Mutable(md.Fields().ByName("partition_key_table")).List()
	ehkt := m.Mutable(md.Fields().ByName("explicit_hash_key_table")).List()
	rl := m.Mutable(md.Fields().ByName("records")).List()
	rd := md.Fields().ByName("records").Message()
	td := rd.Fields().ByName("tags").Message()
	pkIdx, ehkIdx := map[string]int{}, map[string]int{}
	for _, r := range recs {
		i, ok := pkIdx[r.PK]
		if !ok {
			i = pkt.Len()
			pkIdx[r.PK] = i
			pkt.Append(protoreflect.ValueOfString(r.PK))
		}
		rm := dynamicpb.NewMessage(rd)
		rm.Set(rd.Fields().ByName("partition_key_index"), protoreflect.ValueOfUint64(uint64(i)))
		if r.EHK != "" {
			j, ok := ehkIdx[r.EHK]
			if !ok {
				j = ehkt.Len()
				ehkIdx[r.EHK] = j
				ehkt.Append(protoreflect.ValueOfString(r.EHK))
			}
			rm.Set(rd.Fields().ByName("explicit_hash_key_index"), protoreflect.ValueOfUint64(uint64(j)))
		}
		data := r.Data
		if data == nil {
			data = []byte{} // required: set even when empty
		}
		rm.Set(rd.Fields().ByName("data"), protoreflect.ValueOfBytes(data))
		tl := rm.Mutable(rd.Fields().ByName("tags")).List()
		for _, tg := range r.Tags {
			tm := dynamicpb.NewMessage(td)
			tm.Set(td.Fields().ByName("key"), protoreflect.ValueOfString(tg.Key))
			if tg.Value != "" {
				tm.Set(td.Fields().ByName("value"), protoreflect.ValueOfString(tg.Value))
			}
			tl.Append(protoreflect.ValueOfMessage(tm))
		}
		rl.Append(protoreflect.ValueOfMessage(rm))
	}
	pb, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, err
	}
	sum := md5.Sum(pb)
	return append(append(Magic[:len(Magic):len(Magic)], pb...), sum[:]...), nil
}

// Decode checks the frame and digest and decodes an aggregated record with
// the protobuf runtime (which enforces proto2's required fields), resolving
// the table indexes.
func Decode(b []byte) ([]Record, error) {
	if len(b) < len(Magic)+md5.Size || !bytes.Equal(b[:4], Magic[:]) {
		return nil, fmt.Errorf("not an aggregated record")
	}
	pb, sum := b[4:len(b)-md5.Size], b[len(b)-md5.Size:]
	if want := md5.Sum(pb); !bytes.Equal(sum, want[:]) {
		return nil, fmt.Errorf("digest mismatch")
	}
	md := aggregated
	m := dynamicpb.NewMessage(md)
	if err := proto.Unmarshal(pb, m); err != nil {
		return nil, err
	}
	pkt := m.Get(md.Fields().ByName("partition_key_table")).List()
	ehkt := m.Get(md.Fields().ByName("explicit_hash_key_table")).List()
	rl := m.Get(md.Fields().ByName("records")).List()
	rd := md.Fields().ByName("records").Message()
	td := rd.Fields().ByName("tags").Message()
	var out []Record
	for i := range rl.Len() {
		rm := rl.Get(i).Message()
		pki := rm.Get(rd.Fields().ByName("partition_key_index")).Uint()
		if pki >= uint64(pkt.Len()) {
			return nil, fmt.Errorf("record %d: partition key index %d out of range", i, pki)
		}
		r := Record{PK: pkt.Get(int(pki)).String(), Data: rm.Get(rd.Fields().ByName("data")).Bytes()}
		if f := rd.Fields().ByName("explicit_hash_key_index"); rm.Has(f) {
			j := rm.Get(f).Uint()
			if j >= uint64(ehkt.Len()) {
				return nil, fmt.Errorf("record %d: explicit hash key index %d out of range", i, j)
			}
			r.EHK = ehkt.Get(int(j)).String()
		}
		tl := rm.Get(rd.Fields().ByName("tags")).List()
		for k := range tl.Len() {
			tm := tl.Get(k).Message()
			r.Tags = append(r.Tags, Tag{
				Key:   tm.Get(td.Fields().ByName("key")).String(),
				Value: tm.Get(td.Fields().ByName("value")).String(),
			})
		}
		out = append(out, r)
	}
	return out, nil
}
