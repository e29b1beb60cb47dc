import { describe, expect, it } from "vitest";
import { fingerprint, fromSaved, isMeasurement, isReformat, toSaved, type CornerstoneAnnotation } from "./measurements";

const imageId = "wadors:http://127.0.0.1:8000/dicomweb/studies/1.2/series/1.2.3/instances/1.2.3.4/frames/1";

function length(): CornerstoneAnnotation {
  return {
    annotationUID: "uid-1",
    metadata: { toolName: "Length", referencedImageId: imageId, FrameOfReferenceUID: "1.9", viewPlaneNormal: [0, 0, -1] },
    data: {
      handles: { points: [[0, 0, 0], [10, 0, 0]], textBox: { hasMoved: false } },
      cachedStats: { [`imageId:${imageId}`]: { length: 10, unit: "mm" } },
      label: "",
    },
    isLocked: false,
    isVisible: true,
    highlighted: true,
  };
}

describe("measurement rows", () => {
  it("saves the frame the annotation is on, its tool and its geometry", () => {
    const saved = toSaved(length());
    expect(saved?.studyInstanceUID).toBe("1.2");
    expect(saved?.row).toMatchObject({ uid: "uid-1", tool: "Length", series_instance_uid: "1.2.3", sop_instance_uid: "1.2.3.4", frame: 1, label: "" });
    const data = saved?.row.data as { metadata: Record<string, unknown>; data: { handles: unknown } };
    expect(data.metadata.referencedImageId).toBeUndefined(); // rebuilt from the UIDs on restore
    expect(data.data.handles).toEqual({ points: [[0, 0, 0], [10, 0, 0]], textBox: { hasMoved: false } });
  });

  it("keeps an arrow's text as the label", () => {
    const arrow = { ...length(), metadata: { ...length().metadata, toolName: "ArrowAnnotate" }, data: { handles: {}, text: "lesion" } };
    expect(toSaved(arrow)?.row.label).toBe("lesion");
  });

  it("skips annotations that are not on a DICOMweb frame", () => {
    expect(toSaved({ ...length(), metadata: { toolName: "Length", referencedImageId: "web:x.png" } })).toBeUndefined();
  });

  it("restores a saved row as an annotation on this server's frame, to be measured again", () => {
    const row = toSaved(length())!.row;
    const restored = fromSaved(row, "http://other:9000/dicomweb", "1.2");
    expect(restored.annotationUID).toBe("uid-1");
    expect(restored.metadata.referencedImageId).toBe("wadors:http://other:9000/dicomweb/studies/1.2/series/1.2.3/instances/1.2.3.4/frames/1");
    expect(restored.metadata.FrameOfReferenceUID).toBe("1.9");
    expect(restored.data.handles).toEqual(length().data.handles);
    expect(restored.data.cachedStats).toEqual({});
    expect(restored.invalidated).toBe(true);
  });

  it("keeps a measurement on a reformatted view on the anchor image, placed again by its plane", () => {
    const coronal = { ...length(), metadata: { toolName: "Length", FrameOfReferenceUID: "1.9", viewPlaneNormal: [0, -1, 0], cameraFocalPoint: [0, 5, 0] } };
    expect(toSaved(coronal)).toBeUndefined(); // no image of its own and no anchor: not saved
    const saved = toSaved(coronal, imageId)!;
    expect(saved.studyInstanceUID).toBe("1.2");
    expect(saved.row).toMatchObject({ series_instance_uid: "1.2.3", sop_instance_uid: "1.2.3.4", frame: 1 });
    expect(isReformat(saved.row)).toBe(true);
    expect(isReformat(toSaved(length(), imageId)!.row)).toBe(false); // on an acquired image: that image
    const restored = fromSaved(saved.row, "http://other:9000/dicomweb", "1.2");
    expect(restored.metadata.referencedImageId).toBeUndefined(); // a stack never shows it
    expect(restored.metadata).toMatchObject({ toolName: "Length", FrameOfReferenceUID: "1.9", viewPlaneNormal: [0, -1, 0], cameraFocalPoint: [0, 5, 0] });
    expect(restored.data.handles).toEqual(length().data.handles);
  });

  it("gives the same fingerprint when only the statistics or highlight changed", () => {
    const a = length();
    const b = {
      ...length(),
      highlighted: false,
      data: { ...length().data, cachedStats: {}, handles: { points: [[0, 0, 0], [10, 0, 0]], textBox: { hasMoved: false, worldBoundingBox: { topLeft: [1, 2, 3] } } } },
    };
    expect(fingerprint(toSaved(a)!.row)).toBe(fingerprint(toSaved(b)!.row));
    const moved = { ...length(), data: { ...length().data, handles: { points: [[1, 0, 0], [10, 0, 0]] } } };
    expect(fingerprint(toSaved(moved)!.row)).not.toBe(fingerprint(toSaved(a)!.row));
    const textMoved = { ...length(), data: { ...length().data, handles: { points: [[0, 0, 0], [10, 0, 0]], textBox: { hasMoved: true, worldPosition: [5, 5, 0] } } } };
    expect(fingerprint(toSaved(textMoved)!.row)).not.toBe(fingerprint(toSaved(a)!.row));
    expect(isMeasurement(a)).toBe(true);
    expect(isMeasurement({ ...a, metadata: { toolName: "Crosshairs" } })).toBe(false);
  });
});
