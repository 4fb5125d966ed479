"""A typical PyTorch training script; it runs on ember by changing only the imports.

Run: python examples/pytorch_style_training.py [checkpoint-path]
"""

import sys

import ember as torch
import ember.nn as nn
import ember.nn.functional as F
from ember.utils.data import DataLoader, TensorDataset, random_split

CKPT = sys.argv[1] if len(sys.argv) > 1 else "model.safetensors"
torch.manual_seed(0)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
X = torch.randn(512, 1, 12, 12)
y = (X.mean(dim=(1, 2, 3)) > 0).long()
ds = TensorDataset(X, y)
train_ds, val_ds = random_split(ds, [400, 112])
train_dl = DataLoader(train_ds, batch_size=32, shuffle=True)
val_dl = DataLoader(val_ds, batch_size=64)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(8 * 6 * 6, 2)

    def forward(self, x):
        x = self.pool(F.relu(self.bn1(self.conv1(x))))
        x = x.view(x.size(0), -1)
        return self.fc(self.drop(x))

model = Net().to(device)
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
crit = nn.CrossEntropyLoss()
for epoch in range(4):
    model.train()
    total = 0.0
    for xb, yb in train_dl:
        xb, yb = xb.to(device), yb.to(device)
        opt.zero_grad()
        loss = crit(model(xb), yb)
        loss.backward()
        opt.step()
        total += loss.item() * xb.size(0)
    sched.step()
    model.eval()
    correct = 0
    with torch.no_grad():
        for xb, yb in val_dl:
            pred = torch.argmax(model(xb), dim=1)
            correct += (pred == yb).sum().item()
    print(f"epoch {epoch} loss {total / len(train_ds):.4f} "
          f"val acc {correct / len(val_ds):.3f} lr {sched.get_last_lr()[0]:.4f}")
torch.save(model.state_dict(), CKPT)
m2 = Net()
m2.load_state_dict(torch.load(CKPT))
m2.eval()
with torch.no_grad():
    print("reloaded model agrees:", torch.equal(m2(X[:10]), model(X[:10])))
