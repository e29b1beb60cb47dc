declare module "dcmjs" {
  const dcmjs: { data: { DicomMetaDictionary: { dictionary: Record<string, { tag: string; vr: string; vm: string; name: string }> } } };
  export default dcmjs;
}
